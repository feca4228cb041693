"""A pytest plugin for bench.bench_tests: the time of every test phase, with the xdist worker that ran it.

Loaded with ``-p bench.worker_times`` and ``WORKER_TIMES=<file>``; the controlling process writes one JSON list of
``[worker, node id, phase, seconds, start, stop]`` (start and stop in seconds since the epoch) at the end of the
session.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

OUTPUT_VARIABLE = "WORKER_TIMES"
_phases: list[tuple[str, str, str, float, float, float]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record one phase (setup, call or teardown) of one test, under the worker whose report it is."""
    node = getattr(report, "node", None)
    gateway = getattr(node, "gateway", None)
    worker = str(getattr(gateway, "id", "main"))
    _phases.append((worker, report.nodeid, report.when, report.duration, report.start, report.stop))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the phases, from the controlling process only (xdist workers forward their reports to it)."""
    target = os.environ.get(OUTPUT_VARIABLE)
    if target and not os.environ.get("PYTEST_XDIST_WORKER"):
        Path(target).write_text(json.dumps(_phases), encoding="utf-8")
