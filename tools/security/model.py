"""What every tool's result becomes: one finding schema, one acknowledgment schema, three statuses."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Tool = Literal["cdk-nag", "cfn-lint", "checkov", "cfn-guard"]
TOOLS: tuple[Tool, ...] = ("cdk-nag", "cfn-lint", "checkov", "cfn-guard")
Severity = Literal["error", "warning", "info"]
# unacknowledged: the tool reports it and nothing accepts it (fails the gate).
# acknowledged: the tool reports it and one acknowledgment (cdk-nag, cfn-guard), cfn-lint ignore or checkov skip
# accepts it, with a reason.
# stale: an acknowledgment, ignore or skip that accepts nothing any more (fails the gate: remove it).
Status = Literal["unacknowledged", "acknowledged", "stale"]
ScopeKind = Literal["construct", "stack-wide", "app-wide", "resource", "config"]
FAILING: frozenset[str] = frozenset({"unacknowledged", "stale"})
# What the findings of a tool or environment-independent setting are filed under.
ALL_ENVIRONMENTS = "*"
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Finding:
    """One rule of one tool on one resource of one environment, with its status."""

    tool: Tool
    ruleset: str  # the cdk-nag pack (AwsSolutions, HIPAA.Security, ...), control-tower (cfn-guard), or the tool's name
    environment: str
    stack: str  # the stack name, or "" for a finding on the tools' own configuration
    rule: str
    resource: str  # the construct path when known, else the logical ID or the configuration file
    logical_id: str | None
    severity: Severity
    status: Status
    reason: str | None  # why it is safe here (acknowledged), or what to do (stale)
    message: str
    template: str | None  # the template's path, relative to the project root when under it

    @property
    def fails(self) -> bool:
        """Whether this finding fails the gate."""
        return self.status in FAILING

    def key(self) -> tuple[str, ...]:
        """What identifies the finding across runs (for sorting and for SARIF fingerprints)."""
        return (self.tool, self.ruleset, self.environment, self.stack, self.rule, self.resource, self.status)


@dataclass(frozen=True)
class Acknowledgment:
    """One acknowledgment (cdk-nag, cfn-guard), ignore (cfn-lint) or skip (checkov), with what it accepts."""

    tool: Tool
    environment: str
    stack: str
    rule: str
    scope: str  # the construct path, logical ID or configuration file it is declared on
    scope_kind: ScopeKind
    reason: str
    covers: int  # how many findings it accepts; 0 means stale


@dataclass(frozen=True)
class Report:
    """Everything one run of the gate found, in a stable order."""

    environments: tuple[str, ...]
    findings: tuple[Finding, ...]
    acknowledgments: tuple[Acknowledgment, ...]
    versions: dict[str, str]
    resources: dict[str, dict[str, int]]  # environment -> stack -> resources in its template
    checkov_passed: dict[str, int]  # environment -> checks checkov evaluated and passed

    @property
    def failing(self) -> tuple[Finding, ...]:
        """The findings that fail the gate."""
        return tuple(f for f in self.findings if f.fails)

    @property
    def passed(self) -> bool:
        """True when nothing fails the gate."""
        return not self.failing

    def to_json(self) -> dict[str, Any]:
        """findings.json: the whole report, one schema for all tools."""
        return {
            "schema": "ml-data-lake/security-findings/v1",
            "passed": self.passed,
            "environments": list(self.environments),
            "tools": self.versions,
            "counts": {status: sum(f.status == status for f in self.findings) for status in _STATUSES},
            "findings": [asdict(f) for f in self.findings],
            "acknowledgments": [asdict(a) for a in self.acknowledgments],
            "resources": self.resources,
            "checkov_passed_checks": self.checkov_passed,
        }


_STATUSES: tuple[Status, ...] = ("unacknowledged", "acknowledged", "stale")


def sort_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Failing first, then by environment, stack, tool, rule and resource."""
    return tuple(sorted(findings, key=lambda f: (not f.fails, *f.key())))


def relative(path: Path, root: Path) -> str:
    """`path` relative to `root` when it lies under it, else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def template_lines(template: Path) -> dict[str, int]:
    """The line on which each resource of a CDK-written (indented JSON) template starts."""
    lines: dict[str, int] = {}
    in_resources = False
    for number, line in enumerate(template.read_text().splitlines(), start=1):
        if line.startswith(' "') and not line.startswith("  "):
            in_resources = line.startswith(' "Resources"')
        elif in_resources and (match := _RESOURCE_LINE.match(line)):
            lines[match.group(1)] = number
    return lines


def construct_paths(template: dict[str, Any]) -> dict[str, str]:
    """Logical ID -> construct path, from the `aws:cdk:path` metadata CDK writes on each resource."""
    return {
        logical_id: str(resource.get("Metadata", {}).get("aws:cdk:path", logical_id))
        for logical_id, resource in template.get("Resources", {}).items()
    }


def load_template(path: Path) -> dict[str, Any]:
    """A synthesized template as a dict."""
    return dict(json.loads(path.read_text()))


_RESOURCE_LINE = re.compile(r'^  "([A-Za-z0-9]+)": \{')
