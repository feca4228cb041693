"""What the gate writes: summary.md for the reviewer, findings.json for machines, one SARIF file per tool."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from tools.security.model import ALL_ENVIRONMENTS, ROOT, TOOLS, Acknowledgment, Report, template_lines

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_TOOL_URIS = {
    "cdk-nag": "https://github.com/cdklabs/cdk-nag",
    "cfn-lint": "https://github.com/aws-cloudformation/cfn-lint",
    "checkov": "https://www.checkov.io",
    "cfn-guard": "https://github.com/aws-cloudformation/cloudformation-guard",
}
_PACK_TITLES = {
    "AwsSolutions": "AWS Solutions",
    "HIPAA.Security": "HIPAA Security",
    "NIST.800.53.R5": "NIST 800-53 rev 5",
    "PCI.DSS.321": "PCI DSS 3.2.1",
}
_RULESET_TITLES = {**_PACK_TITLES, "control-tower": "AWS Control Tower proactive controls"}


def write(report: Report, out: Path) -> list[Path]:
    """Write summary.md, findings.json and <tool>.sarif into `out` (created); the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "summary.md", out / "findings.json"]
    written[0].write_text(summary(report))
    written[1].write_text(json.dumps(report.to_json(), indent=2) + "\n")
    for tool in TOOLS:
        path = out / f"{tool}.sarif"
        path.write_text(json.dumps(sarif(report, tool), indent=2) + "\n")
        written.append(path)
    return written


# --- summary.md ----------------------------------------------------------------------------------------------------


def _cell(text: str | int | None) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def _unit(stack: str) -> str:
    """`Storage` for `MlDataLake-sandbox-Storage`: the part that is the same in every environment."""
    return stack.rsplit("-", 1)[-1]


def _within(stack: str, path: str) -> str:
    """A construct path relative to its stack (`RawZone/Bucket/Resource`), else as given."""
    return path[len(stack) + 1 :] if stack and path.startswith(stack + "/") else path


def _scope(ack: Acknowledgment) -> str:
    if ack.scope_kind == "config":
        return ack.scope
    if ack.stack and ack.scope == ack.stack:
        return f"{_unit(ack.stack)} (the whole stack)"
    return f"{_unit(ack.stack)}/{_within(ack.stack, ack.scope)}" if ack.stack else ack.scope or "(the whole app)"


def summary(report: Report) -> str:
    """The document a security reviewer reads and signs off."""
    counts = {s: sum(f.status == s for f in report.findings) for s in ("unacknowledged", "stale", "acknowledged")}
    tools = ", ".join(f"{tool} {version}" for tool, version in report.versions.items())
    lines = [
        "# Security review",
        "",
        f"`make security` synthesized every environment ({', '.join(report.environments)}) and ran {tools} over "
        "every stack. cdk-nag runs four packs: AwsSolutions, HIPAA Security, NIST 800-53 rev 5 and PCI DSS 3.2.1; "
        "cfn-guard runs the AWS Control Tower proactive controls.",
        "",
    ]
    if report.passed:
        lines.append(
            f"**Result: passed.** Nothing is unacknowledged or stale; {counts['acknowledged']} findings are "
            "acknowledged, each with its reason below."
        )
    else:
        lines.append(
            f"**Result: FAILED.** {counts['unacknowledged']} unacknowledged findings and {counts['stale']} stale "
            f"acknowledgments need a fix (listed first); {counts['acknowledged']} findings are acknowledged."
        )
    lines += [
        "",
        "A rule that is not listed passed on every resource it applies to (it is fixed). Status `unacknowledged`: "
        "the tool reports it and nothing accepts it; `acknowledged`: accepted on that resource, with the reason; "
        "`stale`: an acknowledgment that accepts nothing any more and must be removed.",
        "",
        *_totals(report),
    ]
    if report.failing:
        lines += ["", "## To fix", "", "| environment | stack | tool | rule | resource | status | what to do |"]
        lines.append("|---|---|---|---|---|---|---|")
        for f in report.failing:
            lines.append(
                f"| {f.environment} | {_cell(f.stack)} | {f.tool} | {_code(f.rule)} "
                f"| {_code(_within(f.stack, f.resource))} | **{f.status}** | {_cell(f.reason or f.message)} |"
            )
    for environment in report.environments:
        lines += ["", f"## {environment}"]
        for stack, resources in report.resources.get(environment, {}).items():
            lines += ["", f"### {stack}", "", f"{resources} resources."]
            rows = [f for f in report.findings if f.environment == environment and f.stack == stack]
            if not rows:
                lines += ["", "No findings: every rule of every tool passed."]
                continue
            lines += ["", "| tool | rule | resource | severity | status | reason |", "|---|---|---|---|---|---|"]
            for f in rows:
                status = f"**{f.status}**" if f.fails else f.status
                lines.append(
                    f"| {f.tool} | {_code(f.rule)} | {_code(_within(stack, f.resource))} | {f.severity} | {status} "
                    f"| {_cell(f.reason)} |"
                )
    lines += [*_acknowledgments(report), ""]
    return "\n".join(lines)


def _totals(report: Report) -> list[str]:
    lines = [
        "## Totals",
        "",
        "| environment | tool | rule set | unacknowledged | stale | acknowledged |",
        "|---|---|---|---:|---:|---:|",
    ]
    groups: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for environment in report.environments:
        for pack in _PACK_TITLES:
            groups[(environment, "cdk-nag", pack)]["acknowledged"] += 0
        for tool in ("cfn-lint", "checkov"):
            groups[(environment, tool, tool)]["acknowledged"] += 0
        groups[(environment, "cfn-guard", "control-tower")]["acknowledged"] += 0
    for f in report.findings:
        groups[(f.environment, f.tool, f.ruleset)][f.status] += 1
    for (environment, tool, ruleset), count in groups.items():
        name = _RULESET_TITLES.get(ruleset, "every rule" if ruleset == tool else ruleset)
        lines.append(
            f"| {environment} | {tool} | {name} | {count['unacknowledged']} | {count['stale']} "
            f"| {count['acknowledged']} |"
        )
    resources = ", ".join(
        f"{environment}: {sum(stacks.values())} in {len(stacks)} stacks"
        for environment, stacks in report.resources.items()
    )
    passed = ", ".join(f"{environment}: {count}" for environment, count in report.checkov_passed.items())
    lines += [
        "",
        f"Resources checked: {resources}. checkov checks passed: {passed or 'none'}. Environment "
        f"`{ALL_ENVIRONMENTS}`: the tools' own configuration.",
    ]
    return lines


def _acknowledgments(report: Report) -> list[str]:
    """Every acknowledgment once, with the environments it is made in and the findings it accepts there."""
    grouped: dict[tuple[str, str, str, str], list[Acknowledgment]] = defaultdict(list)
    for ack in report.acknowledgments:
        grouped[(ack.tool, ack.rule, _scope(ack), ack.reason)].append(ack)
    lines = [
        "",
        "## Acknowledgments",
        "",
        "Each names one rule on one construct or resource (cdk-nag: `infra.nag.acknowledge`; checkov: "
        "`infra.checkov.skip_check`; cfn-guard: `infra.guard.acknowledge_control`) or is a cfn-lint ignore in "
        "`.cfnlintrc.yaml`, with the reason it is safe there. "
        "`accepts` counts the findings it accepts in each environment; 0 means stale.",
        "",
        "| tool | rule | on | accepts | reason |",
        "|---|---|---|---|---|",
    ]
    for (tool, rule, scope, reason), acks in sorted(grouped.items()):
        accepts = ", ".join(f"{a.environment}: {a.covers}" for a in acks)
        lines.append(f"| {tool} | {_code(rule)} | {_code(scope)} | {accepts} | {_cell(reason)} |")
    return lines


# --- SARIF 2.1.0 ---------------------------------------------------------------------------------------------------

_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def sarif(report: Report, tool: str) -> dict[str, Any]:
    """One SARIF 2.1.0 log with one run: every finding of `tool`, acknowledged ones carrying a suppression."""
    findings = [f for f in report.findings if f.tool == tool]
    rule_ids = sorted({f.rule for f in findings})
    descriptions = {f.rule: f.message for f in findings if f.status != "stale"}
    line_cache: dict[str, dict[str, int]] = {}
    results = []
    for f in findings:
        location: dict[str, Any] = {
            "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
        }
        if f.template:
            if f.template not in line_cache:
                path = ROOT / f.template if not Path(f.template).is_absolute() else Path(f.template)
                line_cache[f.template] = template_lines(path) if path.exists() else {}
            physical: dict[str, Any] = {"artifactLocation": {"uri": f.template}}
            line = line_cache[f.template].get(f.logical_id or "")
            if line:
                physical["region"] = {"startLine": line}
            location["physicalLocation"] = physical
        elif f.status == "stale" and f.resource.endswith(".yaml"):
            location["physicalLocation"] = {"artifactLocation": {"uri": f.resource}}
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": rule_ids.index(f.rule),
            "level": "error" if f.fails else _LEVELS[f.severity],
            "message": {"text": f.message if f.status != "stale" else f"{f.message} ({f.reason})"},
            "locations": [location],
            "partialFingerprints": {
                # The same finding keeps its fingerprint when its status changes.
                "securityFinding/v1": hashlib.sha256("\x1f".join(f.key()[:-1]).encode()).hexdigest(),
            },
            "properties": {"environment": f.environment, "stack": f.stack, "ruleset": f.ruleset, "status": f.status},
        }
        if f.status == "acknowledged":
            result["suppressions"] = [{"kind": "inSource", "status": "accepted", "justification": f.reason or ""}]
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": report.versions.get(tool, "unknown"),
                        "informationUri": _TOOL_URIS[tool],
                        "rules": [
                            {"id": rule, "shortDescription": {"text": descriptions.get(rule, rule)}}
                            for rule in rule_ids
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
