#!/usr/bin/env python3
"""CDK entry point: reads the environment name and its settings from context, builds that environment's stacks.

`cdk synth` (or `make synth`) runs this with cdk.json's context; `-c env=prod` picks another environment.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from infra.config import DEFAULT_ENVIRONMENT, ConfigError, load_environment
from infra.lake import build_lake
from infra.nag import register_nag_packs


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
    build_lake(app, settings)
    register_nag_packs(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
