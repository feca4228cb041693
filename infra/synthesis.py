"""The one way to synthesize an environment: `cdk synth` (through app.py), the tests and the tools all call it.

It is the only module that reads cdk.json; under the CDK CLI, the context the CLI passes (cdk.json's, plus `-c`)
is merged on top, so both paths see the same settings and feature flags.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from infra.config import DEFAULT_ENVIRONMENT, ConfigError, EnvironmentSettings, load_environment
from infra.lake import Lake, build_lake
from infra.nag import PendingAcknowledgment, deferred_acknowledgments, register_nag_packs

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = ROOT / "cdk.json"
# What `make flink-artifact` builds: the folder MSF expects for a Python application (CONTRACTS.md, issue 11).
FLINK_ARTIFACT = ROOT / "build" / "flink" / "stream_analytics"


class MissingBuildError(FileNotFoundError):
    """Something synthesis packages as an asset has not been built; the message names the make target."""


@cache
def _cdk_json_context() -> str:
    return json.dumps(json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"])


def cdk_context() -> dict[str, Any]:
    """The context of cdk.json (per-environment settings and feature flags), a fresh copy each call."""
    context: dict[str, Any] = json.loads(_cdk_json_context())
    return context


def environment_names() -> tuple[str, ...]:
    """Every environment cdk.json defines, in its order."""
    return tuple(cdk_context()["environments"])


def load_settings(environment: str, *, context: Mapping[str, Any] | None = None) -> EnvironmentSettings:
    """The validated settings of `environment`, from cdk.json's context with `context` laid over it."""
    merged = {**cdk_context(), **(context or {})}
    return load_environment(merged.get("environments"), environment)


@dataclass(frozen=True)
class Synthesis:
    """One environment synthesized: its settings, stacks, template files and the acknowledgments it deferred."""

    settings: EnvironmentSettings
    lake: Lake
    outdir: Path
    templates: dict[str, Path]  # stack name -> template file, in deployment order
    pending: tuple[PendingAcknowledgment, ...]  # empty unless acknowledgments were deferred

    def template(self, stack_name: str) -> dict[str, Any]:
        """One stack's template as JSON."""
        document: dict[str, Any] = json.loads(self.templates[stack_name].read_text(encoding="utf-8"))
        return document


def synthesize(
    environment: str | None,
    outdir: Path | None,
    *,
    context: Mapping[str, Any] | None = None,
    nag: bool = True,
    defer_acknowledgments: bool = False,
    path_metadata: bool = False,
    validate_templates: bool | None = None,
    flink_artifact: Path | None = None,
) -> Synthesis:
    """Build the stacks of `environment` and synthesize them into `outdir`.

    - `environment`: None takes the context's `env` (`cdk synth -c env=prod`), else the default environment.
    - `outdir`: None lets the CDK choose (CDK_OUTDIR under the CLI).
    - `context`: laid over cdk.json's context, e.g. `{"environments": {...}}` for a variant environment.
    - `nag`: register the cdk-nag packs, so any unacknowledged finding fails synthesis (as `cdk synth` does).
    - `defer_acknowledgments`: record the acknowledgments instead of applying them (the security report).
    - `path_metadata`: write each resource's construct path into the template, as the CLI does.
    - `validate_templates`: run CloudFormation's validation plugin over the templates (the CDK's built-in check of
      properties and cross-resource rules; with cdk.json's flags any finding fails synthesis). None follows the CDK:
      on, unless the CLI says `--no-validation`, as `make synth` does because the security gate's synthesis runs it.
    - `flink_artifact`: the built Flink application, read where `analytics.enabled`; None is FLINK_ARTIFACT (tests
      pass a placeholder folder, as they read templates and never run the job).
    Raises ConfigError for a bad setting, MissingBuildError when the Flink application is needed and not built.
    """
    flags = {"aws:cdk:enable-path-metadata": True} if path_metadata else {}
    app = cdk.App(
        outdir=str(outdir) if outdir is not None else None,
        context={**cdk_context(), **(context or {}), **flags},
        analytics_reporting=False,
        stack_traces=False,
        builtin_cloud_formation_validation=validate_templates,
    )
    name = environment or app.node.try_get_context("env") or DEFAULT_ENVIRONMENT
    settings = load_environment(app.node.try_get_context("environments"), name)
    with _acknowledgments(deferred=defer_acknowledgments) as pending:
        lake = build_lake(app, settings, flink_artifact=_built_flink_artifact(settings, flink_artifact))
        if nag:
            register_nag_packs(app)
        assembly = app.synth()
    templates = {
        stack.stack_name: Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path)
        for stack in lake.stacks
    }
    return Synthesis(
        settings=settings, lake=lake, outdir=Path(assembly.directory), templates=templates, pending=tuple(pending)
    )


def _built_flink_artifact(settings: EnvironmentSettings, folder: Path | None) -> Path | None:
    """The Flink application's folder where `analytics.enabled` (None elsewhere: nothing reads it)."""
    if not settings.analytics.enabled:
        return None
    folder = folder or FLINK_ARTIFACT
    if not (folder / "main.py").is_file():
        shown = folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
        raise MissingBuildError(
            f"{shown} has no main.py: environment {settings.name} has analytics.enabled, so build the Flink "
            "application first with `make flink-artifact`, or set analytics.enabled to false"
        )
    return folder


@contextmanager
def _acknowledgments(*, deferred: bool) -> Iterator[list[PendingAcknowledgment]]:
    if not deferred:
        yield []
        return
    with deferred_acknowledgments() as pending:
        yield pending


def main() -> int:
    """`cdk synth`'s entry (app.py): a bad setting or a missing build is one line on stderr and exit status 2."""
    try:
        synthesize(None, None)
    except (ConfigError, MissingBuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
