"""The table `make synth` ends with: every stack, in deployment order, with its resource count and template."""

from __future__ import annotations

import pytest

from tests.synth import ENVIRONMENT_UNITS, Synthesized
from tools.synth_summary import main, summarize

UNITS = ENVIRONMENT_UNITS["sandbox"]


def test_lists_every_stack_in_deployment_order_with_its_resources(
    sandbox: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    outdir = sandbox.template_files["Core"].parent
    rows = summarize(outdir)
    assert [name for name, _, _ in rows] == [f"MlDataLake-sandbox-{unit}" for unit in UNITS]
    for (_, count, template), unit in zip(rows, UNITS, strict=True):
        assert template == sandbox.template_files[unit]
        assert count == len(sandbox.json(unit)["Resources"])
    assert main([str(outdir)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{len(UNITS)} stack(s), {sum(c for _, c, _ in rows)} resources"
