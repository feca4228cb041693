"""Every setting with its default and description: the source of the generated settings table."""

from __future__ import annotations

import json

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from infra.config.models import EnvironmentSettings


def settings_reference() -> list[tuple[str, str, str]]:
    """Every setting as (dotted path, default, description), in declaration order."""
    rows: list[tuple[str, str, str]] = []
    _walk(EnvironmentSettings, None, "", rows)
    return rows


def _walk(model: type[BaseModel], defaults: BaseModel | None, prefix: str, rows: list[tuple[str, str, str]]) -> None:
    for key, field in model.model_fields.items():
        if key == "name":
            continue
        path = f"{prefix}{key}"
        default = getattr(defaults, key) if defaults is not None else field.get_default(call_default_factory=True)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _walk(annotation, default, f"{path}.", rows)
        else:
            rows.append((path, _json(default), field.description or ""))


def _json(value: object) -> str:
    # Tuples become lists, and settings models inside a list (cdc.tables) their JSON objects.
    return json.dumps(to_jsonable_python(value))
