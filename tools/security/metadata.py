"""Acknowledgments kept in one resource's template Metadata (checkov skips, cfn-guard acknowledgments).

Neither tool applies them the way the gate needs (checkov runs without its skips, guard reads none), so both readers
share what follows: whether a reason is acceptable, and the list of acknowledgments with the stale ones as findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infra.nag import require_full_sentence
from tools.security.model import ROOT, Acknowledgment, Finding, Tool, construct_paths, relative

# (environment, stack, logical ID, rule): one acknowledgment on one resource, or the finding it accepted.
Use = tuple[str, str, str, str]


def reason_problem(reason: str, *, what: str) -> str | None:
    """Why an acknowledgment's reason is not acceptable (not a full sentence), or None."""
    try:
        require_full_sentence(reason, what=what)
    except ValueError as error:
        return str(error)
    return None


def resource_acknowledgments(
    *,
    tool: Tool,
    ruleset: str,
    declared: Callable[[dict[str, Any]], dict[tuple[str, str], str]],
    originals: Mapping[tuple[str, str], dict[str, Any]],
    templates: Mapping[tuple[str, str], Path],
    used: set[Use],
    findings: list[Finding],
    noun: str,
    rule_word: str,
) -> list[Acknowledgment]:
    """Every acknowledgment `declared` finds in the templates, with what it covers; one that accepted no finding
    (not in `used`) is also appended to `findings` as stale, named as the tool names it (`noun`, `rule_word`)."""
    result: list[Acknowledgment] = []
    for (environment, stack), template in originals.items():
        paths = construct_paths(template)
        for (logical_id, rule), reason in sorted(declared(template).items()):
            live = (environment, stack, logical_id, rule) in used
            resource = paths.get(logical_id, logical_id)
            result.append(
                Acknowledgment(
                    tool=tool,
                    environment=environment,
                    stack=stack,
                    rule=rule,
                    scope=resource,
                    scope_kind="resource",
                    reason=reason,
                    covers=1 if live else 0,
                )
            )
            if live:
                continue
            findings.append(
                Finding(
                    tool=tool,
                    ruleset=ruleset,
                    environment=environment,
                    stack=stack,
                    rule=rule,
                    resource=resource,
                    logical_id=logical_id,
                    severity="error",
                    status="stale",
                    reason=f"the {rule_word} passes on this resource (or does not apply to it): remove the {noun}",
                    message=f"{noun} of {rule} on {resource}: the {rule_word} no longer fails here",
                    template=relative(templates[(environment, stack)], ROOT),
                )
            )
    return result
