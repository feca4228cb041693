#!/usr/bin/env python3
"""CDK entry point: reads the environment name and its settings from context, builds that environment's stacks.

`cdk synth` (or `make synth`) runs this with cdk.json's context; `-c env=prod` picks another environment, and
`-c flink_artifact=DIR` another build of the Flink application than `build/flink/stream_analytics`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aws_cdk as cdk

from infra.config import DEFAULT_ENVIRONMENT, ConfigError, load_environment
from infra.lake import build_lake
from infra.nag import register_nag_packs
from infra.stacks.analytics import FLINK_ARTIFACT


def main() -> int:
    """Synthesize the selected environment; a configuration error is one line on stderr and exit status 2."""
    app = cdk.App()
    try:
        settings = load_environment(
            app.node.try_get_context("environments"), app.node.try_get_context("env") or DEFAULT_ENVIRONMENT
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    artifact = app.node.try_get_context("flink_artifact")
    try:
        build_lake(app, settings, flink_artifact=Path(artifact) if artifact else FLINK_ARTIFACT)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    register_nag_packs(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
