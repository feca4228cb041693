"""Synthesis for tests: the project's environments, each synthesized once per session through infra.synthesis."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from infra.config import EnvironmentSettings
from infra.lake import Lake
from infra.synthesis import ROOT, Synthesis, cdk_context, environment_names, load_settings
from infra.synthesis import synthesize as synthesize_environment
from tools.security.synthesis import REVIEW_OPTIONS
from tools.security.tool_runs import ToolCache

__all__ = ["ROOT", "cdk_context", "load_settings"]

ENVIRONMENTS = environment_names()
# The test session's memory of the review tools' outputs by what they read (tools.security.tool_runs): a run after a
# change starts only the tools whose templates or configuration changed. It is in the clone, so a fresh clone (CI)
# runs every tool; `make clean` empties it.
REVIEW_CACHE = ToolCache(ROOT / ".cache" / "security-tools")
# Every unit (stack) an environment can have, in deployment order, and the optional ones with the settings block that
# turns each on; a test checks the app builds exactly the units each environment enables.
UNITS = (
    "Core",
    "Network",
    "Storage",
    "Ingestion",
    "Ml",
    "Processing",
    "Analytics",
    "Warehouse",
    "Video",
    "Cdc",
    "Monitoring",
)
OPTIONAL_UNITS = {"Ml": "ml", "Warehouse": "warehouse", "Video": "video", "Cdc": "cdc"}


def units_of(env: str) -> tuple[str, ...]:
    """The units environment `env` of cdk.json builds, in deployment order."""
    settings = load_settings(env)
    return tuple(
        unit for unit in UNITS if unit not in OPTIONAL_UNITS or getattr(settings, OPTIONAL_UNITS[unit]).enabled
    )


ENV_UNITS = [(env, unit) for env in ENVIRONMENTS for unit in units_of(env)]

# One environment with every setting the project's own environments leave off: bound to a (placeholder) account
# and region with named zones, interface endpoints, an on-demand stream, reserved concurrency, Parquet at ingest, a
# consumer account, the catalog encryption left to another environment, every optional unit on (ML, analytics, the
# warehouse with three named zones and a larger base and compute budget, the video unit at its longest retention,
# change data capture with the RDS source it creates), and the safe defaults for everything else (retain).
VARIANT = "variant"
CONSUMER_ACCOUNT = "222222222222"
VARIANT_BLOCK: dict[str, Any] = {
    "account": "111111111111",
    "region": "eu-west-1",
    "network": {"availability_zones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"], "interface_endpoints": True},
    "kinesis": {"mode": "on_demand"},
    "firehose": {"transform_reserved_concurrency": 5, "record_format": "parquet"},
    "consumer_accounts": [CONSUMER_ACCOUNT],
    "glue": {"manage_catalog_encryption": False},
    "ml": {"enabled": True},
    "analytics": {"enabled": True},
    "warehouse": {"enabled": True, "base_capacity_rpu": 16, "daily_rpu_hours_alarm": 48.0},
    "video": {
        "enabled": True,
        "retention_hours": 87_600,
        "schedule_minutes": 10,
        "frames_per_minute": 12,
        "image_format": "PNG",
        "watch_labels": ["Person", "Car"],
    },
    "cdc": {
        "enabled": True,
        "source": "create",
        "current_state_schedule": "cron(0 4 * * ? *)",
        "create_account_roles": True,
    },
}

# The other end: every optional unit off (ML, analytics, warehouse, video, CDC), the least an environment can be.
# With VARIANT it makes the two combinations the security gate must pass beside the project's own environments.
BARE = "bare"
BARE_BLOCK: dict[str, Any] = {"ml": {"enabled": False}}
# Every settings block that turns an optional part on: the optional units', and analytics (whose stack always exists).
OPTIONAL_BLOCKS = (*OPTIONAL_UNITS.values(), "analytics")


def environments_context() -> dict[str, Any]:
    """The `environments` block of cdk.json's context."""
    return dict(cdk_context()["environments"])


@dataclass(frozen=True)
class Synthesized:
    """One environment synthesized: its settings, stacks and templates (by unit name: Storage, Network, ...)."""

    settings: EnvironmentSettings
    lake: Lake
    templates: dict[str, Template]
    template_files: dict[str, Path]
    synthesis: Synthesis

    def template(self, unit: str) -> Template:
        """The assertions view of one unit's template."""
        return self.templates[unit]

    def json(self, unit: str) -> dict[str, Any]:
        """The raw template of one unit."""
        return dict(self.templates[unit].to_json())


def placeholder_flink_artifact(directory: Path) -> Path:
    """A stand-in for what `make flink-artifact` builds, for templates only: tests read templates, never run the job.

    Real synthesis (`make synth`) reads the built folder (infra/synthesis.py: FLINK_ARTIFACT); this one only has the
    files the application's properties refer to.
    """
    (directory / "lib").mkdir(parents=True, exist_ok=True)
    (directory / "main.py").write_text("# placeholder for template tests; `make flink-artifact` builds the job\n")
    (directory / "lib" / "stream-analytics-connectors.jar").write_bytes(b"")
    return directory


def synthesize(
    name: str, outdir: Path, *, environments: dict[str, Any] | None = None, for_review: bool = False
) -> Synthesized:
    """Synthesize environment `name` (of cdk.json, or of `environments` when given), without the nag packs.

    `for_review`: as the security gate synthesizes (acknowledgments deferred, construct paths in the templates), so
    that one synthesis serves both the template tests and the gate's review. The Flink application is a placeholder.
    """
    options = REVIEW_OPTIONS if for_review else {"nag": False}
    context = {"environments": environments} if environments is not None else None
    artifact = placeholder_flink_artifact(outdir.parent / f"{outdir.name}-flink-artifact")
    synthesis = synthesize_environment(name, outdir, context=context, flink_artifact=artifact, **options)
    files = {stack_name.rsplit("-", 1)[-1]: path for stack_name, path in synthesis.templates.items()}
    return Synthesized(
        settings=synthesis.settings,
        lake=synthesis.lake,
        templates={unit: Template.from_json(json.loads(path.read_text())) for unit, path in files.items()},
        template_files=files,
        synthesis=synthesis,
    )


_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalise_assets(template: dict[str, Any]) -> dict[str, Any]:
    """The template with asset hashes replaced, so snapshots change only when the infrastructure does.

    CDK orders an IAM statement's resources by their text, so a new asset hash can reorder them; the order means
    nothing to IAM, and sorting them after the hashes are replaced keeps the snapshot still. Construct paths
    (written for the security review) are left out: the logical IDs already name each resource.
    """
    normalised = json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template)))
    for resource in normalised.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        metadata.pop("aws:cdk:path", None)
        if "Metadata" in resource and not metadata:
            del resource["Metadata"]
    return dict(_sort_statement_resources(normalised))


def _sort_statement_resources(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: sorted(value, key=json.dumps) if key == "Resource" and isinstance(value, list) else value
            for key, value in ((k, _sort_statement_resources(v)) for k, v in node.items())
        }
    if isinstance(node, list):
        return [_sort_statement_resources(item) for item in node]
    return node
