"""The security gate: synthesize, run cdk-nag, cfn-lint, checkov and cfn-guard, and put every result in one report."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

from tools.security import cfn_lint_findings, checkov_findings, guard_findings, nag_findings
from tools.security.checkov_findings import CHECKOV
from tools.security.model import Acknowledgment, Finding, Report, load_template, sort_findings
from tools.security.synthesis import SynthesizedEnvironment, synthesize
from tools.security.tool_runs import ToolCache


def review(
    environments: Sequence[SynthesizedEnvironment],
    *,
    checkov: Path = CHECKOV,
    cfn_lint_config: str | None = None,
    cache: ToolCache | None = None,
) -> Report:
    """Every tool over every stack of the synthesized environments (applies their pending acknowledgments).

    `cache`: where the external tools' outputs are remembered by what they read (tools.security.tool_runs).
    """
    findings: list[Finding] = []
    acknowledgments: list[Acknowledgment] = []
    templates = {(env.name, stack): path for env in environments for stack, path in env.templates.items()}
    # cfn-lint, checkov and cfn-guard are processes of their own that read the templates: they run while cdk-nag
    # walks the construct trees here (only this thread talks to the CDK's JavaScript runtime).
    with ThreadPoolExecutor(max_workers=3) as pool:
        linting = pool.submit(cfn_lint_findings.scan, templates, cfn_lint_config, cache)
        checking = pool.submit(checkov_findings.scan, templates, checkov, cache)
        guarding = pool.submit(guard_findings.scan, templates, cache=cache)
        for env in environments:
            nag, acks = nag_findings.scan(env)
            findings += nag
            acknowledgments += acks
        lint, ignores = linting.result()
        second, skips, passed = checking.result()
        controls, accepted = guarding.result()
    return Report(
        environments=tuple(env.name for env in environments),
        findings=sort_findings([*findings, *lint, *second, *controls]),
        acknowledgments=(*acknowledgments, *ignores, *skips, *accepted),
        versions={
            "cdk-nag": version("cdk-nag"),
            "cfn-lint": version("cfn-lint"),
            "checkov": checkov_findings.version(checkov),
            "cfn-guard": guard_findings.version(),
        },
        resources={
            env.name: {stack: len(load_template(path).get("Resources", {})) for stack, path in env.templates.items()}
            for env in environments
        },
        checkov_passed=passed,
    )


def run(names: Sequence[str], *, assemblies: Path, checkov: Path = CHECKOV) -> Report:
    """Synthesize each named environment into `assemblies/<name>` and review them all."""
    return review([synthesize(name, assemblies / name) for name in names], checkov=checkov)
