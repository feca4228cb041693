#!/usr/bin/env python3
"""CDK entry point: `cdk synth` runs this with cdk.json's context; `-c env=prod` picks another environment."""

from __future__ import annotations

import sys

from infra.synthesis import main

if __name__ == "__main__":
    sys.exit(main())
