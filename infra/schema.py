"""The lake's event schema as the infrastructure sees it: read once from the file the Lambda and the Glue job share."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

# Declared once, next to the transformation Lambda that enforces it first; the Glue job receives the same document.
EVENT_SCHEMA_FILE = (
    Path(__file__).resolve().parent.parent / "lambdas" / "firehose_transform" / "sensor_event_schema.json"
)


@cache
def event_schema() -> dict[str, Any]:
    """The parsed schema document."""
    document: dict[str, Any] = json.loads(EVENT_SCHEMA_FILE.read_text(encoding="utf-8"))
    return document


def event_schema_argument() -> str:
    """The schema as one compact line of JSON: the Glue job's `--event_schema` argument."""
    return json.dumps(event_schema(), separators=(",", ":"), sort_keys=True)
