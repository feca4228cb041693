"""``python -m ml_jobs.eda``: the analysis entry point (locally, and in the SageMaker Processing job)."""

import sys

from ml_jobs.eda.cli import main

sys.exit(main())
