"""Fixtures of the Glue job tests: one local SparkSession for the whole session, the schema, the device table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pyspark.sql import DataFrame, Row, SparkSession

from glue_jobs.curate_events import job
from glue_jobs.curate_events.schema import EventSchema, load_schema
from glue_jobs.curate_events.transforms import CurationResult, curate
from tests.glue_jobs.support import DEVICES_PATH, FIXTURES, SCHEMA_PATH


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """A local SparkSession shared by every test: starting a JVM takes seconds, so there is only one."""
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[1]")
        .appName("glue-job-tests")
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


@pytest.fixture(scope="session")
def event_schema() -> EventSchema:
    """The lake's declared event schema, from the file the Lambda ships with."""
    return load_schema(SCHEMA_PATH)


@pytest.fixture(scope="session")
def schema_document() -> dict[str, Any]:
    """The schema file as a plain JSON document, for tests that alter a copy of it."""
    document: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="session")
def devices(spark: SparkSession) -> DataFrame:
    """The device reference table the job ships with, read the way the job reads it."""
    return job.read_devices(spark, str(DEVICES_PATH)).cache()


@pytest.fixture(scope="session")
def fixture_events(spark: SparkSession) -> DataFrame:
    """The raw-zone fixture (extra fields, nulls, duplicates, out-of-range values, bad timestamps, unknown devices)."""
    return spark.read.json(str(FIXTURES / "raw_events.jsonl"))


@pytest.fixture(scope="session")
def fixture_curation(
    fixture_events: DataFrame, devices: DataFrame, event_schema: EventSchema
) -> Iterator[CurationResult]:
    """The fixture curated once for every test that inspects or writes the outputs."""
    result = curate(fixture_events, devices, event_schema)
    yield result
    result.unpersist()


@pytest.fixture(scope="session")
def curated_rows(fixture_curation: CurationResult) -> list[Row]:
    """The fixture's curated rows."""
    return fixture_curation.curated.collect()


@pytest.fixture(scope="session")
def quarantined_rows(fixture_curation: CurationResult) -> list[Row]:
    """The fixture's quarantined rows."""
    return fixture_curation.quarantined.collect()
