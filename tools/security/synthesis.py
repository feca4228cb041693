"""Each environment synthesized the way app.py builds it, with its cdk-nag acknowledgments recorded but not applied."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.nag import PendingAcknowledgment, deferred_acknowledgments
from infra.synthesis import Synthesis, environment_names
from infra.synthesis import synthesize as synthesize_environment


@dataclass(frozen=True)
class SynthesizedEnvironment:
    """One environment's stacks and templates, and the acknowledgments its constructs made (not yet applied)."""

    name: str
    stacks: tuple[cdk.Stack, ...]
    templates: dict[str, Path]  # stack name -> template file
    pending: tuple[PendingAcknowledgment, ...]
    outdir: Path


__all__ = [
    "REVIEW_OPTIONS",
    "SynthesizedEnvironment",
    "environment_names",
    "for_review",
    "synthesize",
    "synthesize_app",
]


def synthesize(name: str, outdir: Path) -> SynthesizedEnvironment:
    """Synthesize environment `name` of cdk.json into `outdir` (emptied first), its acknowledgments deferred."""
    if outdir.exists():
        shutil.rmtree(outdir)
    return for_review(name, synthesize_environment(name, outdir, **REVIEW_OPTIONS))


# How an environment is synthesized for review: acknowledgments recorded, not applied (the gate applies them after a
# first run of the packs, to see what each covers); construct paths in the templates (cfn-lint and checkov name
# logical IDs, the report shows paths); the packs not registered (the gate runs them itself); CloudFormation's
# validation plugin run, whatever the environment says (`make synth` leaves it to this synthesis: it costs seconds of
# engine start on every run).
REVIEW_OPTIONS: dict[str, Any] = {
    "nag": False,
    "defer_acknowledgments": True,
    "path_metadata": True,
    "validate_templates": True,
}


def for_review(name: str, synthesis: Synthesis) -> SynthesizedEnvironment:
    """An environment synthesized with REVIEW_OPTIONS (by `make security` or a test session), as the gate reads it."""
    if not synthesis.pending:
        raise ValueError(f"{name} was synthesized with its acknowledgments applied; the gate needs them deferred")
    return SynthesizedEnvironment(
        name=name,
        stacks=synthesis.lake.stacks,
        templates=synthesis.templates,
        pending=synthesis.pending,
        outdir=synthesis.outdir,
    )


def synthesize_app(
    name: str,
    outdir: Path,
    build: Callable[[Construct], tuple[cdk.Stack, ...]],
    *,
    context: dict[str, Any] | None = None,
) -> SynthesizedEnvironment:
    """Build the stacks `build` returns in a new app and synthesize them into `outdir`, deferring acknowledgments.

    Acknowledgments can be made during synthesis too (construct validations run then), so both happen inside.
    """
    if outdir.exists():
        shutil.rmtree(outdir)
    # Path metadata (as the CDK CLI asks for) names each template resource's construct: cfn-lint and checkov report
    # logical IDs, and the report shows construct paths for all tools.
    path_metadata = {"aws:cdk:enable-path-metadata": True}
    # CloudFormation's validation plugin is not one of the gate's tools: the environments' review synthesis runs it
    # (REVIEW_OPTIONS), and on an app built to break the rules it would only start its engine to print warnings.
    app = cdk.App(
        outdir=str(outdir),
        context={**path_metadata, **(context or {})},
        analytics_reporting=False,
        builtin_cloud_formation_validation=False,
    )
    with deferred_acknowledgments() as pending:
        stacks = build(app)
        assembly = app.synth()
    templates = {
        stack.stack_name: Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path) for stack in stacks
    }
    return SynthesizedEnvironment(name=name, stacks=stacks, templates=templates, pending=tuple(pending), outdir=outdir)
