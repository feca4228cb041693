"""Session fixtures: one synthesis of every environment, and one SparkSession, shared by the tests that need them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.synth import ENVIRONMENTS, Synthesized, settings_for, synthesize

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """Every environment in cdk.json, synthesized once for the whole session."""
    return {name: synthesize(settings_for(name), tmp_path_factory.mktemp(f"cdk.out-{name}")) for name in ENVIRONMENTS}


@pytest.fixture(scope="session")
def sandbox(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The default environment."""
    return synthesized["sandbox"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The production environment."""
    return synthesized["prod"]


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local SparkSession shared by every test (Glue job, ML): starting a JVM takes seconds, so there is only one."""
    from pyspark.sql import SparkSession

    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "512m")
        .config("spark.sql.warehouse.dir", str(warehouse))
        # A test JVM lives for seconds: the C1 compiler alone warms up far sooner than the tiered default, and the
        # serial collector suits a small heap.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        # The tests check what the transformations compute, which does not depend on how Spark executes them. On
        # frames of a few rows, generating and compiling Java for every new plan, and adaptive re-planning, cost far
        # more than the work: interpreted evaluation (factoryMode is the internal switch Spark's own suites use)
        # cuts the run by about a third.
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        .config("spark.sql.adaptive.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
