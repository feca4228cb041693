"""AWS CloudFormation Guard with the AWS Control Tower proactive-control rules, over every template.

The binary and the rules come from the npm package `@cdklabs/cdk-validator-cfnguard` (pinned in package.json,
installed by `make setup`). A control is acknowledged only on one resource, in its template Metadata
(`infra.guard.acknowledge_control`); the rules do not read it, so a finding an acknowledgment accepts is listed with
its reason, and an acknowledgment that accepts nothing is stale.
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.guard import METADATA_KEY
from tools.security.metadata import Use, reason_problem, resource_acknowledgments
from tools.security.model import (
    ROOT,
    Acknowledgment,
    Finding,
    Severity,
    Status,
    construct_paths,
    load_template,
    relative,
)
from tools.security.tool_runs import ToolCache, copy_name, run_on_copies

PACKAGE = ROOT / "node_modules" / "@cdklabs" / "cdk-validator-cfnguard"
RULESET = "control-tower"
# cfn-guard's exit status: 0 every rule passed or skipped, 19 some rule failed; anything else is guard failing.
_FAILED = 19
_CONTROL = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]:\s*([^\n]*)")
_SEVERITIES: dict[str, Severity] = {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning", "LOW": "info"}


def guard_binary(package: Path = PACKAGE) -> Path:
    """The cfn-guard executable the package ships for this machine."""
    system = "macos" if sys.platform == "darwin" else "ubuntu"
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())
    return package / "bin" / system / machine / "cfn-guard"


def rules_dir(package: Path = PACKAGE) -> Path:
    """The Control Tower proactive controls as guard rules, one folder per service."""
    return package / "rules" / "control-tower" / "cfn-guard"


def version(package: Path = PACKAGE) -> str:
    """`<guard version> (rules of @cdklabs/cdk-validator-cfnguard <version>)`, or 'unknown'."""
    try:
        guard = json.loads((package / "guard-version.json").read_text())["version"]
        rules = json.loads((package / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"
    return f"{guard} (Control Tower rules of @cdklabs/cdk-validator-cfnguard {rules})"


@dataclass(frozen=True)
class Control:
    """One Control Tower control: its id, title and severity (from the metadata shipped next to the rule)."""

    id: str
    title: str
    severity: Severity


def controls(package: Path = PACKAGE) -> dict[str, Control]:
    """Every control the package ships, by id."""
    found: dict[str, Control] = {}
    for path in sorted((package / "rules" / "control-tower" / "metadata").glob("*/*.metadata.json")):
        meta = json.loads(path.read_text())
        found[meta["Id"]] = Control(meta["Id"], meta["DisplayName"], _SEVERITIES.get(meta.get("Severity", ""), "error"))
    return found


# The resource types a rule reports on, from the specification at the top of every Control Tower rule file.
_REPORTS_ON = re.compile(r"^# Reports on:\n((?:#   .*\n)+)", re.MULTILINE)
_RESOURCE_TYPE = re.compile(r"AWS::\w+::\w+")


def rules_for(resource_types: set[str], package: Path = PACKAGE) -> list[Path]:
    """The rule files that can fail on templates holding `resource_types`, in order.

    A Control Tower rule reports on the types its specification names and skips a template that holds none of them;
    guard still parses and evaluates every rule on every template, which made it the slowest tool of the gate. A rule
    whose specification names no type is always kept.
    """
    kept: list[Path] = []
    for path in sorted(rules_dir(package).rglob("*.guard")):
        spec = _REPORTS_ON.search(path.read_text(encoding="utf-8"))
        reports_on = set(_RESOURCE_TYPE.findall(spec.group(1))) if spec else set()
        if not reports_on or reports_on & resource_types:
            kept.append(path)
    return kept


def run_guard(
    files: Mapping[str, str],
    package: Path = PACKAGE,
    *,
    resource_types: set[str] | None = None,
    cache: ToolCache | None = None,
) -> list[dict[str, Any]]:
    """cfn-guard's structured JSON report on template copies (relative name -> text): one entry per template, with
    the rules it did not comply with.

    `resource_types`: every type the templates hold, to run only the rules that report on them (None: every rule).
    """
    binary = guard_binary(package)
    if not binary.exists():
        raise RuntimeError(f"cfn-guard is not installed at {relative(binary, ROOT)}: `make setup` installs it")
    rules = [rules_dir(package)] if resource_types is None else rules_for(resource_types, package)
    argv = [arg for name in sorted(files) for arg in ("--data", name)]
    argv += ["--output-format", "json", "--show-summary", "none", "--structured"]

    def run(folder: Path) -> str:
        rule_args = [arg for path in rules for arg in ("--rules", str(path))]
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(binary), "validate", *rule_args, *argv], cwd=folder, capture_output=True, text=True, check=False
        )
        if result.returncode not in (0, _FAILED) or not result.stdout.strip().startswith("["):
            raise RuntimeError(f"cfn-guard failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
        # guard names each file by its absolute path: name it as given, so that the output is the folder's own.
        entries, root = json.loads(result.stdout), folder.resolve()  # resolved: macOS's /tmp is a link
        for entry in entries:
            entry["name"] = Path(entry["name"]).resolve().relative_to(root).as_posix()
        return json.dumps(entries)

    # The rules are the pinned package's: its version and the rule files' names inside it say which were run.
    identity = ["cfn-guard", version(package), *(path.relative_to(rules_dir(package)).as_posix() for path in rules)]
    return list(json.loads(run_on_copies([*identity, *argv], files, run, cache)))


def violations(report_entry: Mapping[str, Any]) -> set[tuple[str, str, str]]:
    """(control id, logical ID, message) for every resource a template's entry of the report fails.

    Guard nests the checks of a rule; the control is named in the custom message of the rule that fails, and each
    failing check points at a path `/Resources/<logical ID>/...` of the template.
    """
    found: set[tuple[str, str, str]] = set()
    for rule in report_entry.get("not_compliant", []) or []:
        for control, path, message in _walk(rule, None):
            found.add((control, path.split("/")[2], message))
    return found


def _walk(node: Any, control: tuple[str, str] | None) -> Iterator[tuple[str, str, str]]:
    if isinstance(node, dict):
        messages = node.get("messages")
        if isinstance(messages, dict):
            for text in (messages.get("custom_message"), messages.get("error_message")):
                if isinstance(text, str) and (match := _CONTROL.search(text)):
                    control = (match.group(1), match.group(2).strip())
        for key, value in node.items():
            if key == "path" and isinstance(value, str) and value.startswith("/Resources/") and control:
                yield control[0], value, control[1]
            else:
                yield from _walk(value, control)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, control)


def acknowledgments(template: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(logical ID, control id) -> reason, for every acknowledgment in a template's resource Metadata."""
    found: dict[tuple[str, str], str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        entries = resource.get("Metadata", {}).get(METADATA_KEY, {}).get("acknowledge", [])
        for entry in entries if isinstance(entries, list) else []:
            found[(logical_id, str(entry.get("id", "")))] = str(entry.get("reason", ""))
    return found


def scan(
    templates: Mapping[tuple[str, str], Path], package: Path = PACKAGE, cache: ToolCache | None = None
) -> tuple[list[Finding], list[Acknowledgment]]:
    """Guard findings for templates keyed by (environment, stack), and the acknowledgments in them."""
    by_copy = {copy_name(*key): key for key in templates}
    known = controls(package)
    findings: list[Finding] = []
    used: set[Use] = set()
    originals = {key: load_template(path) for key, path in templates.items()}
    types = {str(resource.get("Type")) for t in originals.values() for resource in t.get("Resources", {}).values()}
    files = {name: templates[key].read_text() for name, key in by_copy.items()}
    for entry in run_guard(files, package, resource_types=types, cache=cache):
        environment, stack = by_copy[str(entry["name"])]
        template = originals[(environment, stack)]
        acks, paths = acknowledgments(template), construct_paths(template)
        for control_id, logical_id, message in sorted(violations(entry)):
            reason = acks.get((logical_id, control_id))
            status: Status = "unacknowledged"
            if reason is not None:
                used.add((environment, stack, logical_id, control_id))
                problem = reason_problem(reason, what="cfn-guard acknowledgment")
                status, reason = ("unacknowledged", problem) if problem else ("acknowledged", reason)
            control = known.get(control_id)
            findings.append(
                Finding(
                    tool="cfn-guard",
                    ruleset=RULESET,
                    environment=environment,
                    stack=stack,
                    rule=control_id,
                    resource=paths.get(logical_id, logical_id),
                    logical_id=logical_id,
                    severity=control.severity if control else "error",
                    status=status,
                    reason=reason,
                    message=control.title if control else message,
                    template=relative(templates[(environment, stack)], ROOT),
                )
            )
    acknowledged = resource_acknowledgments(
        tool="cfn-guard",
        ruleset=RULESET,
        declared=acknowledgments,
        originals=originals,
        templates=templates,
        used=used,
        findings=findings,
        noun="acknowledgment",
        rule_word="control",
    )
    return findings, acknowledged
