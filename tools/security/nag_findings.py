"""cdk-nag: every pack over every stack, run before and after the acknowledgments are applied.

The first run (nothing acknowledged) shows everything the packs report; the second is cdk-nag's own verdict. A finding
only the first run reports is acknowledged, with the reason of the nearest acknowledgment above it in the construct
tree (how cdk-nag matches them); an acknowledgment that matches nothing the first run reports is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import App, Stack, Stage

from infra.nag import NAG_PACKS, PendingAcknowledgment
from tools.security.model import (
    ROOT,
    Acknowledgment,
    Finding,
    ScopeKind,
    Severity,
    Status,
    construct_paths,
    load_template,
    relative,
)
from tools.security.synthesis import SynthesizedEnvironment


@dataclass(frozen=True)
class _Raw:
    ruleset: str
    stack: str
    rule: str
    path: str
    severity: Severity
    message: str


def _run_packs(stacks: Sequence[cdk.Stack]) -> dict[tuple[str, str, str], _Raw]:
    """Every finding of every pack over `stacks`, by (pack, rule, construct path)."""
    found: dict[tuple[str, str, str], _Raw] = {}
    for pack_type in NAG_PACKS:
        pack = pack_type()
        for stack in stacks:
            for violation in pack.validate_scope(stack).violations:
                severity: Severity = "error" if violation.severity == "error" else "warning"
                message = violation.description.splitlines()[0] if violation.description else violation.rule_name
                for resource in violation.violating_resources:
                    path = resource.construct_path or stack.node.path
                    raw = _Raw(pack.name, stack.stack_name, violation.rule_name, path, severity, message)
                    found[(raw.ruleset, raw.rule, raw.path)] = raw
    return found


def _covers(ack_path: str, resource_path: str) -> bool:
    """Whether an acknowledgment on `ack_path` applies to a resource at `resource_path` (itself or a descendant)."""
    return ack_path == "" or resource_path == ack_path or resource_path.startswith(ack_path + "/")


def _scope_kind(ack: PendingAcknowledgment) -> tuple[ScopeKind, str]:
    """('construct' | 'stack-wide' | 'app-wide', the stack's name or '')."""
    construct = ack.construct
    if isinstance(construct, App | Stage) or not construct.node.path:
        return "app-wide", ""
    stack = Stack.of(construct)
    return ("stack-wide" if construct is stack else "construct"), stack.stack_name


def scan(env: SynthesizedEnvironment) -> tuple[list[Finding], list[Acknowledgment]]:
    """The cdk-nag findings of one synthesized environment, and its acknowledgments with what each covers.

    Applies the environment's pending acknowledgments (once: call it once per environment).
    """
    everything = _run_packs(env.stacks)
    for ack in env.pending:
        ack.apply()
    remaining = _run_packs(env.stacks)

    logical_ids: dict[str, dict[str, str]] = {}
    for stack_name, template_path in env.templates.items():
        by_path = {path: logical_id for logical_id, path in construct_paths(load_template(template_path)).items()}
        logical_ids[stack_name] = by_path

    # Each construct path read once: every read is a call into the CDK's JavaScript runtime.
    ack_paths = [ack.construct.node.path for ack in env.pending]
    covered: dict[int, int] = {}
    findings: list[Finding] = []
    for key, raw in everything.items():
        # The nearest acknowledgment of this rule above the resource, as cdk-nag looks them up.
        matching = [
            (index, ack)
            for index, ack in enumerate(env.pending)
            if ack.rule_id == raw.rule and _covers(ack_paths[index], raw.path)
        ]
        nearest = max(matching, key=lambda item: len(ack_paths[item[0]]), default=None)
        status: Status = "unacknowledged"
        reason: str | None = None
        if key not in remaining and nearest is None:
            # Accepted by cdk-nag but by none of the recorded acknowledgments: the matching here has drifted from
            # cdk-nag's, so it is not counted as reviewed.
            reason = "cdk-nag accepts it, but no acknowledgment made with infra.nag.acknowledge matches it"
        elif key not in remaining and nearest is not None:
            status, reason = "acknowledged", nearest[1].reason
            covered[nearest[0]] = covered.get(nearest[0], 0) + 1
        template = env.templates.get(raw.stack)
        findings.append(
            Finding(
                tool="cdk-nag",
                ruleset=raw.ruleset,
                environment=env.name,
                stack=raw.stack,
                rule=raw.rule,
                resource=raw.path,
                logical_id=logical_ids.get(raw.stack, {}).get(raw.path),
                severity=raw.severity,
                status=status,
                reason=reason,
                message=raw.message,
                template=relative(template, ROOT) if template else None,
            )
        )

    acknowledgments: list[Acknowledgment] = []
    for index, ack in enumerate(env.pending):
        kind, stack_name = _scope_kind(ack)
        covers = covered.get(index, 0)
        acknowledgments.append(
            Acknowledgment(
                tool="cdk-nag",
                environment=env.name,
                stack=stack_name,
                rule=ack.rule_id,
                scope=ack_paths[index],
                scope_kind=kind,
                reason=ack.reason,
                covers=covers,
            )
        )
        problem = _problem(ack, kind, covers)
        if problem:
            template = env.templates.get(stack_name)
            ids = logical_ids.get(stack_name, {})
            findings.append(
                Finding(
                    tool="cdk-nag",
                    ruleset=ack.rule_id.split("-", 1)[0],
                    environment=env.name,
                    stack=stack_name,
                    rule=ack.rule_id,
                    resource=ack_paths[index],
                    logical_id=ids.get(ack_paths[index]) or ids.get(f"{ack_paths[index]}/Resource"),
                    severity="error",
                    status="stale" if covers == 0 else "unacknowledged",
                    reason=problem,
                    message=f"acknowledgment of {ack.rule_id} on {ack_paths[index] or 'the app'}: {problem}",
                    template=relative(template, ROOT) if template else None,
                )
            )
    return findings, acknowledgments


def _problem(ack: PendingAcknowledgment, kind: str, covers: int) -> str | None:
    """What is wrong with an acknowledgment, or None."""
    if covers == 0:
        return (
            "it accepts no finding (the rule no longer fires on this construct or below it, or a nearer "
            "acknowledgment already accepts it): remove it"
        )
    if kind != "construct" and "every" not in ack.reason.lower():
        return (
            f"a {kind} acknowledgment is allowed only for a rule that applies to every resource of a kind, and its "
            "reason must say so: acknowledge the rule on the construct it concerns instead"
        )
    return None
