"""Fixtures of the Glue job tests: the schema, the device table, the curated fixture (the SparkSession is in tests/)."""

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
