"""Fixtures of the analysis tests. The local path's test curates on the Glue tests' SparkSession (one JVM a run)."""

from __future__ import annotations

from tests.glue_jobs.conftest import spark  # noqa: F401 - the test run's one SparkSession (getOrCreate shares it)
