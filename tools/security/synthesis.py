"""Each environment synthesized the way app.py builds it, with its cdk-nag acknowledgments recorded but not applied."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from constructs import Construct

from infra.config import load_environment
from infra.lake import build_lake
from infra.nag import PendingAcknowledgment, deferred_acknowledgments
from tools.security.model import ROOT


@dataclass(frozen=True)
class SynthesizedEnvironment:
    """One environment's stacks and templates, and the acknowledgments its constructs made (not yet applied)."""

    name: str
    stacks: tuple[cdk.Stack, ...]
    templates: dict[str, Path]  # stack name -> template file
    pending: tuple[PendingAcknowledgment, ...]
    outdir: Path


def cdk_context() -> dict[str, Any]:
    """The context of cdk.json, as the CDK CLI passes it to app.py."""
    return dict(json.loads((ROOT / "cdk.json").read_text())["context"])


def environment_names() -> tuple[str, ...]:
    """Every environment cdk.json defines, in its order."""
    return tuple(cdk_context()["environments"])


def synthesize(name: str, outdir: Path) -> SynthesizedEnvironment:
    """Build and synthesize environment `name` from cdk.json into `outdir` (emptied first)."""
    context = cdk_context()
    settings = load_environment(context["environments"], name)
    feature_flags = {key: value for key, value in context.items() if key != "environments"}
    return synthesize_app(name, outdir, lambda app: build_lake(app, settings).stacks, context=feature_flags)


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
    app = cdk.App(outdir=str(outdir), context={**path_metadata, **(context or {})}, analytics_reporting=False)
    with deferred_acknowledgments() as pending:
        stacks = build(app)
        assembly = app.synth()
    templates = {
        stack.stack_name: Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path) for stack in stacks
    }
    return SynthesizedEnvironment(name=name, stacks=stacks, templates=templates, pending=tuple(pending), outdir=outdir)
