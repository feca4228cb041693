"""Fixtures for the Firehose transformation tests: the recorded events in tests/events/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture
def firehose_event() -> Callable[[str], dict[str, Any]]:
    """Load a recorded Firehose transformation event by file name, fresh on every call."""

    def load(name: str) -> dict[str, Any]:
        event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
        return event

    return load
