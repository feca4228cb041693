"""cfn-lint over every template, errors, warnings and informational findings alike.

`.cfnlintrc.yaml` is the one place a rule may be ignored, each with its reason in the comment above it. cfn-lint runs
with that file minus its `ignore_checks`, and the ignores are applied here (by rule-id prefix, as cfn-lint does): so
a finding an ignore accepts is listed with the ignore's reason, and an ignore that accepts nothing is stale.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from tools.security.model import (
    ALL_ENVIRONMENTS,
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

CONFIG = ROOT / ".cfnlintrc.yaml"
_CONFIG_COPY = "cfnlintrc.yaml"  # the configuration's name beside the template copies
_LEVELS: dict[str, Severity] = {"Error": "error", "Warning": "warning", "Informational": "info"}


@dataclass(frozen=True)
class Ignore:
    """One rule (or rule-id prefix) ignored in the cfn-lint configuration, with its reason."""

    rule: str
    reason: str


def ignores(config_text: str) -> list[Ignore]:
    """The `ignore_checks` entries of a cfnlintrc, each with the comment lines just above it as its reason."""
    entries: list[Ignore] = []
    comment: list[str] = []
    in_block = False
    for line in config_text.splitlines():
        stripped = line.strip()
        if not line.startswith((" ", "-", "#")) and stripped:
            in_block = stripped.startswith("ignore_checks:")
            comment = []
        elif in_block and stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
        elif in_block and (match := re.match(r"-\s*['\"]?([A-Za-z0-9]+)['\"]?\s*(?:#\s*(.*))?$", stripped)):
            reason = " ".join([*comment, match.group(2) or ""]).strip()
            entries.append(Ignore(match.group(1), reason))
            comment = []
    return entries


def without_ignores(config_text: str) -> str:
    """The cfnlintrc without its `ignore_checks` block."""
    kept: list[str] = []
    in_block = False
    for line in config_text.splitlines():
        if line.strip() and not line.startswith((" ", "-", "#")):
            in_block = line.startswith("ignore_checks:")
        if not in_block:
            kept.append(line)
    return "\n".join(kept) + "\n"


def run_cfn_lint(files: Mapping[str, str], config_text: str, cache: ToolCache | None = None) -> list[dict[str, Any]]:
    """cfn-lint's JSON matches for template copies (relative name -> text), with the configuration minus its ignores."""
    argv = ["--format", "json", "--config-file", _CONFIG_COPY, "--", *sorted(files)]

    def run(folder: Path) -> str:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(Path(sys.executable).with_name("cfn-lint")), *argv],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
        # Exit status is a bit mask of the levels found (2 error, 4 warning, 8 informational); 1: cfn-lint failed.
        if result.returncode & 1 or not result.stdout.strip().startswith("["):
            raise RuntimeError(f"cfn-lint failed (exit {result.returncode}): {result.stderr.strip() or result.stdout}")
        return result.stdout

    inputs = {**files, _CONFIG_COPY: without_ignores(config_text)}
    return list(json.loads(run_on_copies(["cfn-lint", version("cfn-lint"), *argv], inputs, run, cache)))


def scan(
    templates: Mapping[tuple[str, str], Path], config_text: str | None = None, cache: ToolCache | None = None
) -> tuple[list[Finding], list[Acknowledgment]]:
    """cfn-lint findings for templates keyed by (environment, stack), and the configuration's ignores."""
    config_text = CONFIG.read_text() if config_text is None else config_text
    ignored = ignores(config_text)
    by_copy = {copy_name(*key): key for key in templates}
    paths = {key: construct_paths(load_template(path)) for key, path in templates.items()}
    matches = run_cfn_lint({name: templates[key].read_text() for name, key in by_copy.items()}, config_text, cache)

    findings: list[Finding] = []
    covered: dict[str, int] = {}
    for match in matches:
        environment, stack = by_copy[Path(match["Filename"]).as_posix()]
        rule = str(match["Rule"]["Id"])
        location = match.get("Location", {}).get("Path") or []
        logical_id = str(location[1]) if len(location) > 1 and location[0] == "Resources" else None
        ignore = next((i for i in ignored if rule.startswith(i.rule)), None)
        status: Status = "unacknowledged" if ignore is None else "acknowledged"
        if ignore is not None:
            covered[ignore.rule] = covered.get(ignore.rule, 0) + 1
        findings.append(
            Finding(
                tool="cfn-lint",
                ruleset="cfn-lint",
                environment=environment,
                stack=stack,
                rule=rule,
                resource=paths[(environment, stack)].get(logical_id, logical_id)
                if logical_id
                else "/".join(str(part) for part in location),
                logical_id=logical_id,
                severity=_LEVELS.get(str(match.get("Level")), "error"),
                status=status,
                reason=ignore.reason if ignore else None,
                message=str(match.get("Message", "")).splitlines()[0] if match.get("Message") else rule,
                template=relative(templates[(environment, stack)], ROOT),
            )
        )

    acknowledgments = []
    config_name = relative(CONFIG, ROOT)
    for ignore in ignored:
        covers = covered.get(ignore.rule, 0)
        acknowledgments.append(
            Acknowledgment(
                tool="cfn-lint",
                environment=ALL_ENVIRONMENTS,
                stack="",
                rule=ignore.rule,
                scope=config_name,
                scope_kind="config",
                reason=ignore.reason,
                covers=covers,
            )
        )
        problem = _problem(ignore, covers)
        if problem:
            findings.append(
                Finding(
                    tool="cfn-lint",
                    ruleset="cfn-lint",
                    environment=ALL_ENVIRONMENTS,
                    stack="",
                    rule=ignore.rule,
                    resource=config_name,
                    logical_id=None,
                    severity="error",
                    status="stale" if covers == 0 else "unacknowledged",
                    reason=problem,
                    message=f"ignore of {ignore.rule} in {config_name}: {problem}",
                    template=None,
                )
            )
    return findings, acknowledgments


def _problem(ignore: Ignore, covers: int) -> str | None:
    if covers == 0:
        return "no template has this finding any more: remove the ignore"
    if len(ignore.reason.split()) < 6:
        return "its reason, the comment above it, must be a full sentence saying why the rule does not apply"
    return None
