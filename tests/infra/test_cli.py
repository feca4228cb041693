"""The user's path end to end: the CDK CLI and app.py as subprocesses, with the nag gate registered.

Every environment's verdict from the packs is tested once, on the session's synthesis (test_nag.py); here the CLI
path runs once, for the default environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import synthesis
from tests.synth import ROOT, cdk_context
from tools.security.synthesis import REVIEW_OPTIONS

CDK = ROOT / "node_modules" / ".bin" / "cdk"
QUIET = {
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": subprocess.run(
        ["node", "-p", "process.versions.node.split('.')[0]"],  # noqa: S607 - node from PATH, as the Makefile uses it
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip(),
    "NODE_NO_WARNINGS": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}
pytestmark = pytest.mark.xdist_group("cli")
# The flags `make synth` gives `cdk synth` (the Makefile's SYNTH_FLAGS).
MAKE_SYNTH_FLAGS = ("--quiet", "--no-validation")


def _run_app(context: dict[str, Any], outdir: Path) -> subprocess.CompletedProcess[str]:
    """Run app.py as the CLI does: context in CDK_CONTEXT_JSON, output folder in CDK_OUTDIR."""
    env = {**os.environ, **QUIET, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def _context(**overrides: Any) -> dict[str, Any]:
    return {**cdk_context(), **overrides}


def test_a_bad_setting_is_one_line_and_no_stack_trace(tmp_path: Path) -> None:
    # Given the project's settings with one value out of AWS's range
    context = _context(env="sandbox")
    context["environments"]["sandbox"]["kinesis"]["retention_hours"] = 9000
    # When the app runs
    result = _run_app(context, tmp_path)
    # Then it stops with status 2 and exactly one line that names the setting, the value and the limit
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: environments.sandbox.kinesis.retention_hours = 9000: input should be less than or equal to 8760"
    ]
    assert "Traceback" not in result.stdout + result.stderr


def test_without_the_flink_build_an_environment_with_analytics_says_how_to_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given prod (analytics enabled) selected as `cdk synth -c env=prod` does, and no built Flink application
    context = {**synthesis.cdk_context(), "env": "prod"}
    monkeypatch.setattr(synthesis, "cdk_context", lambda: context)
    monkeypatch.setattr(synthesis, "FLINK_ARTIFACT", tmp_path / "missing")
    # When app.py's entry runs
    status = synthesis.main()
    # Then it stops with status 2 and one line that names the folder and the make target that builds it
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {tmp_path / 'missing'} has no main.py: environment prod has analytics.enabled, so build the "
        "Flink application first with `make flink-artifact`, or set analytics.enabled to false"
    ]


def test_cdk_synth_of_the_default_environment_is_clean_and_quiet(tmp_path: Path) -> None:
    # When a user runs `cdk synth` with no environment (as `make synth` does, with its flags)
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(CDK), "synth", "--no-notices", *MAKE_SYNTH_FLAGS, "--output", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, **QUIET},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    # Then every nag pack passed, the sandbox stacks exist and the CLI said only where it wrote them
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "MlDataLake-sandbox-Storage.template.json").exists()
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines[0] == f"Successfully synthesized to {tmp_path}"
    assert all(line.startswith("Supply a stack id") for line in lines[1:]), lines


def test_cdk_synth_of_an_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - fixed argv
        [str(CDK), "synth", "--no-notices", "--quiet", "-c", "env=staging", "--output", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, **QUIET},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "error: unknown environment 'staging' (from -c env=...); known environments: prod, sandbox" in output
    assert "Traceback" not in output
    assert "end-of-life" not in output


def test_make_synth_leaves_cloudformation_validation_to_the_security_gate() -> None:
    # Given the Makefile
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    # Then `make synth` passes the flags the test above runs, and the gate's synthesis asks for the validation
    assert f"SYNTH_FLAGS := {' '.join(MAKE_SYNTH_FLAGS)}\n" in makefile
    assert "$(CDK) synth $(CDK_FLAGS) $(SYNTH_FLAGS)" in makefile
    assert REVIEW_OPTIONS["validate_templates"] is True
