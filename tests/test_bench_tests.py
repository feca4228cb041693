"""The test-suite benchmark times what `make test` runs, the way it runs it."""

from __future__ import annotations

import re

from bench.bench_tests import PARTS
from tests.synth import ROOT


def test_the_benchmark_runs_the_two_suites_as_make_test_does() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe, "the Makefile has a test target with a recipe"
    assert "$(MAKE) $(TEST_SUITES)" in recipe.group(1)
    # GNU make 4 and later: side by side, as the benchmark's `both`
    assert f"\nTEST_SUITES := {' '.join(PARTS['both'])}\n" in makefile
