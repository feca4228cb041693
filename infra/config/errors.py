"""How a bad setting is reported: one line naming the setting's path, the value and what is allowed."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """A setting is missing, unknown or out of range; the message is one line meant for the user."""


class FieldError(ValueError):
    """Raised inside a model validator to blame one field (its path relative to that model)."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(allowed)
        self.field, self.value, self.allowed = field, value, allowed


def describe(error: ValidationError, prefix: str, block: Mapping[str, Any], model: type[BaseModel]) -> str:
    """The first problem of a ValidationError of `model` as one line: the setting's path, the value, what is allowed."""
    problem = error.errors(include_url=False)[0]
    loc = [str(part) for part in problem["loc"]]
    context = problem.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, FieldError):
        path = ".".join([prefix, *loc, cause.field])
        value = cause.value if cause.value is not None else _lookup(block, [*loc, *cause.field.split(".")])
        return f"{path} = {_show(value)}: {cause.allowed}"
    path = ".".join([prefix, *loc])
    if problem["type"] == "extra_forbidden":
        return _unknown_setting(path, loc, model)
    if problem["type"] == "missing":
        return f"{path}: required setting is missing"
    message = str(cause) if isinstance(cause, ValueError) else problem["msg"]
    if message.startswith("got "):
        return f"{path}: {message}"
    return f"{path} = {_show(problem['input'])}: {message[0].lower()}{message[1:]}"


def _unknown_setting(path: str, loc: list[str], model: type[BaseModel]) -> str:
    """Name an unknown key, suggest the closest known one and list the rest."""
    for part in loc[:-1]:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            break
        model = annotation
    known = [key for key in model.model_fields if key != "name"]
    close = difflib.get_close_matches(loc[-1], known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{path}: unknown setting (a typo?); {hint}known settings here: {', '.join(known)}"


def _lookup(block: Mapping[str, Any], path: list[str]) -> object:
    node: object = block
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _show(value: object) -> str:
    return "null" if value is None else repr(value)
