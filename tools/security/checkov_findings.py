"""checkov over every template (framework cloudformation, offline), as a second opinion on cdk-nag.

A check is skipped only on one resource, in its template Metadata (`infra.checkov.skip_check`). checkov runs on
copies of the templates without those skips and the skips are applied here, as checkov matches them (check id on
the resource): so a skipped finding is listed with its comment, and a skip that skips nothing is stale.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.security.metadata import Use, reason_problem, resource_acknowledgments
from tools.security.model import ROOT, Acknowledgment, Finding, Status, construct_paths, load_template, relative
from tools.security.tool_runs import ToolCache, copy_name, run_on_copies

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def skips(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(logical ID, check id) -> comment, for every checkov skip in a template's resource Metadata."""
    found: dict[tuple[str, str], str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        entries = resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        for entry in entries if isinstance(entries, list) else []:
            found[(logical_id, str(entry.get("id", "")))] = str(entry.get("comment", ""))
    return found


def _without_skips(template: dict[str, Any]) -> dict[str, Any]:
    copy = json.loads(json.dumps(template))
    for resource in copy.get("Resources", {}).values():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            metadata.pop("checkov", None)
    return dict(copy)


def version(checkov: Path = CHECKOV) -> str:
    """checkov's version, read from its virtual environment's package metadata (it is not importable here)."""
    for dist_info in sorted(checkov.parent.parent.glob("lib/python*/site-packages/checkov-*.dist-info")):
        return dist_info.name.removeprefix("checkov-").removesuffix(".dist-info")
    return "unknown"


# Offline: no guidelines, severities or policies from the vendor's platform.
_ARGUMENTS = ["--framework", "cloudformation", "--output", "json", "--compact", "--skip-download"]


def run_checkov(files: Mapping[str, str], checkov: Path = CHECKOV, cache: ToolCache | None = None) -> dict[str, Any]:
    """checkov's JSON report for CloudFormation template copies (relative name -> text), without the network."""
    if not checkov.exists():
        raise RuntimeError(f"checkov is not installed at {relative(checkov, ROOT)}: `make security` installs it")
    env = {key: value for key, value in os.environ.items() if key not in {"BC_API_KEY", "PRISMA_API_URL"}}

    def run(folder: Path) -> str:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(checkov), "--directory", str(folder), *_ARGUMENTS],
            cwd=folder,  # no configuration file of the clone's: what it reads is what the cache key holds
            capture_output=True,
            text=True,
            check=False,
            env={**env, "LOG_LEVEL": "ERROR"},
        )
        # 0: nothing failed, 1: some check failed; anything else is checkov failing.
        if result.returncode not in (0, 1):
            raise RuntimeError(f"checkov failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")
        return result.stdout

    report = json.loads(run_on_copies(["checkov", version(checkov), *_ARGUMENTS], files, run, cache))
    # One framework gives one report; an empty directory gives a summary with no `results`.
    return dict(report[0] if isinstance(report, list) else report)


def scan(
    templates: Mapping[tuple[str, str], Path], checkov: Path = CHECKOV, cache: ToolCache | None = None
) -> tuple[list[Finding], list[Acknowledgment], dict[str, int]]:
    """checkov findings for templates keyed by (environment, stack), their skips, and passed checks per environment."""
    originals = {key: load_template(path) for key, path in templates.items()}
    # checkov names each file by its path under the folder it scans, from its root.
    copies = {copy_name(*key): key for key in templates}
    files = {name: json.dumps(_without_skips(originals[key]), indent=1) for name, key in copies.items()}
    report = run_checkov(files, checkov, cache)
    results = report.get("results", {})

    findings: list[Finding] = []
    passed: dict[str, int] = {}
    for check in results.get("passed_checks", []):
        environment, _ = copies[check["file_path"].lstrip("/")]
        passed[environment] = passed.get(environment, 0) + 1
    used: set[Use] = set()
    for check in results.get("failed_checks", []):
        environment, stack = copies[check["file_path"].lstrip("/")]
        logical_id = str(check["resource"]).split(".", 1)[-1]
        check_id = str(check["check_id"])
        comment = skips(originals[(environment, stack)]).get((logical_id, check_id))
        status: Status = "unacknowledged"
        reason = None
        if comment is not None:
            used.add((environment, stack, logical_id, check_id))
            problem = reason_problem(comment, what="checkov skip")
            status = "unacknowledged" if problem else "acknowledged"
            reason = problem or comment
        findings.append(
            Finding(
                tool="checkov",
                ruleset="checkov",
                environment=environment,
                stack=stack,
                rule=check_id,
                resource=construct_paths(originals[(environment, stack)]).get(logical_id, logical_id),
                logical_id=logical_id,
                severity="error",
                status=status,
                reason=reason,
                message=str(check.get("check_name", check_id)),
                template=relative(templates[(environment, stack)], ROOT),
            )
        )
    for error in results.get("parsing_errors", []):
        environment, stack = copies.get(str(error).lstrip("/"), ("", str(error)))
        findings.append(
            Finding(
                tool="checkov",
                ruleset="checkov",
                environment=environment,
                stack=stack,
                rule="parsing-error",
                resource=str(error),
                logical_id=None,
                severity="error",
                status="unacknowledged",
                reason=None,
                message="checkov could not parse this template",
                template=None,
            )
        )

    acknowledgments = resource_acknowledgments(
        tool="checkov",
        ruleset="checkov",
        declared=skips,
        originals=originals,
        templates=templates,
        used=used,
        findings=findings,
        noun="skip",
        rule_word="check",
    )
    return findings, acknowledgments, passed
