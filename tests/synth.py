"""Synthesis for tests: the project's own settings, each environment built the way app.py builds it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.config import EnvironmentSettings, load_environment
from infra.lake import Lake, build_lake

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("sandbox", "prod")
# Every unit (stack) each environment has, in deployment order; a test checks the app builds exactly these.
UNITS = ("Core", "Network", "Storage", "Ingestion", "Processing", "Analytics", "Monitoring")
ENV_UNITS = [(env, unit) for env in ENVIRONMENTS for unit in UNITS]


def cdk_json() -> dict[str, Any]:
    """cdk.json as the CDK CLI reads it."""
    return json.loads((ROOT / "cdk.json").read_text())


def environments_context() -> dict[str, Any]:
    """The `environments` block of cdk.json's context."""
    return dict(cdk_json()["context"]["environments"])


def settings_for(name: str) -> EnvironmentSettings:
    """The validated settings of one environment from cdk.json."""
    return load_environment(environments_context(), name)


@dataclass(frozen=True)
class Synthesized:
    """One environment synthesized: its settings, stacks and templates (by unit name: Storage, Network, ...)."""

    settings: EnvironmentSettings
    lake: Lake
    templates: dict[str, Template]
    template_files: dict[str, Path]

    def template(self, unit: str) -> Template:
        """The assertions view of one unit's template."""
        return self.templates[unit]

    def json(self, unit: str) -> dict[str, Any]:
        """The raw template of one unit."""
        return dict(self.templates[unit].to_json())


def placeholder_flink_artifact(directory: Path) -> Path:
    """A stand-in for what `make flink-artifact` builds, for templates only: tests read templates, never run the job.

    Real synthesis (`make synth`) builds the real folder first; this one only has the files the stack looks for.
    """
    (directory / "lib").mkdir(parents=True, exist_ok=True)
    (directory / "main.py").write_text("# placeholder for template tests; `make flink-artifact` builds the job\n")
    (directory / "lib" / "stream-analytics-connectors.jar").write_bytes(b"")
    return directory


def synthesize(settings: EnvironmentSettings, outdir: Path) -> Synthesized:
    """Build and synthesize one environment the way app.py does, without the nag gate (tests run it per pack)."""
    feature_flags = {k: v for k, v in cdk_json()["context"].items() if k != "environments"}
    app = cdk.App(outdir=str(outdir), context=feature_flags, analytics_reporting=False)
    artifact = placeholder_flink_artifact(outdir.parent / f"{outdir.name}-flink-artifact")
    lake = build_lake(app, settings, flink_artifact=artifact)
    assembly = app.synth()
    templates: dict[str, Template] = {}
    files: dict[str, Path] = {}
    for stack in lake.stacks:
        unit = stack.stack_name.rsplit("-", 1)[-1]
        artifact = assembly.get_stack_artifact(stack.artifact_id)
        templates[unit] = Template.from_json(artifact.template)
        files[unit] = Path(artifact.template_full_path)
    return Synthesized(settings=settings, lake=lake, templates=templates, template_files=files)


_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalise_assets(template: dict[str, Any]) -> dict[str, Any]:
    """The template with asset hashes replaced, so snapshots change only when the infrastructure does.

    CDK orders an IAM statement's resources by their text, so a new asset hash can reorder them; the order means
    nothing to IAM, and sorting them after the hashes are replaced keeps the snapshot still.
    """
    return dict(_sort_statement_resources(json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))))


def _sort_statement_resources(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: sorted(value, key=json.dumps) if key == "Resource" and isinstance(value, list) else value
            for key, value in ((k, _sort_statement_resources(v)) for k, v in node.items())
        }
    if isinstance(node, list):
        return [_sort_statement_resources(item) for item in node]
    return node
