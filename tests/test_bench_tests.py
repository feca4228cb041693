"""The test-suite benchmark times what `make test` runs, the way it runs it."""

from __future__ import annotations

import re

from bench.bench_tests import PARTS
from tests.synth import ROOT


def test_the_benchmark_runs_the_two_suites_as_make_test_does() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test = re.search(r"^test:([^#\n]*)", makefile, re.MULTILINE)
    assert test, "the Makefile has a test target"
    # make test ends with the target that runs both suites, and that is the target the benchmark times
    assert test.group(1).split()[-1] == "test-suites"
    assert PARTS["both"] == ["test-suites"]
