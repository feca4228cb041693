"""cfn-lint over every synthesized template of every environment: errors and warnings both fail.

The CLI runs (not the API) so that `.cfnlintrc.yaml` — the one place a rule may be ignored, with its reason — applies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.synth import ROOT, Synthesized


def test_every_template_passes_cfn_lint(synthesized: dict[str, Synthesized]) -> None:
    templates = [str(path) for synth in synthesized.values() for path in synth.template_files.values()]
    result = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", *templates],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
