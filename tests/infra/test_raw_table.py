"""The raw zone's declared table and Firehose's record format conversion (`firehose.record_format`).

sandbox delivers JSON with time partitions, prod JSON with device partitions, and the `variant` environment
(tests/synth.py: VARIANT_BLOCK, `record_format: parquet`) converts to Parquet: each record format and each
partitioning is synthesized. The cdk-nag packs run over the variant's Ingestion stack in tests/infra/test_ingestion.py.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from infra.config import ConfigError, load_environment
from infra.constructs.delivery_stream import DEVICE_PREFIX, TIME_PREFIX
from infra.constructs.raw_events_table import glue_columns
from infra.schema import event_schema
from tests.synth import Synthesized
from tools.security.model import Report

# CloudFormation's JSON SerDe, and Hive's Parquet one, as Athena names them.
JSON_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def _one(synth: Synthesized, unit: str, resource_type: str) -> dict[str, Any]:
    found = synth.template(unit).find_resources(resource_type)
    assert len(found) == 1, f"expected one {resource_type} in {unit}, found {sorted(found)}"
    return dict(next(iter(found.values()))["Properties"])


def _table(synth: Synthesized) -> dict[str, Any]:
    return dict(_one(synth, "Ingestion", "AWS::Glue::Table")["TableInput"])


def _destination(synth: Synthesized) -> dict[str, Any]:
    stream = _one(synth, "Ingestion", "AWS::KinesisFirehose::DeliveryStream")
    return dict(stream["ExtendedS3DestinationConfiguration"])


def _tail(value: Any) -> str:
    """The literal end of an `Fn::Join` (what follows the bucket name), or the value itself."""
    return str(value["Fn::Join"][1][-1]) if isinstance(value, dict) else str(value)


def _template_of(prefix: str) -> str:
    """Firehose's prefix with each `!{...:key}` as Athena's `${key}` (yyyy, MM, dd and HH are the time keys)."""
    names = {"yyyy": "year", "MM": "month", "dd": "day", "HH": "hour"}
    return re.sub(r"!\{[a-zA-Z]+:([A-Za-z_]+)\}", lambda m: "${" + names.get(m.group(1), m.group(1)) + "}", prefix)


def _firehose_statements(synth: Synthesized) -> list[dict[str, Any]]:
    policies = synth.template("Ingestion").find_resources("AWS::IAM::ManagedPolicy")
    return [
        statement
        for logical_id, policy in policies.items()
        if logical_id.startswith("DeliveryRole")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.fixture(scope="module")
def variants(sandbox: Synthesized, prod: Synthesized, variant: Synthesized) -> dict[str, Synthesized]:
    return {"sandbox": sandbox, "prod": prod, "variant": variant}


@pytest.fixture(scope="module")
def parquet(variant: Synthesized) -> Synthesized:
    """The variant environment: Firehose converts to Parquet."""
    assert variant.settings.firehose.record_format == "parquet"
    return variant


# --- The table is the schema file ---------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "prod", "variant"])
def test_the_table_declares_every_field_of_the_schema_file_in_order(variants: dict[str, Synthesized], env: str) -> None:
    table = _table(variants[env])
    fields = event_schema()["fields"]
    columns = table["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [
        (f["name"], {"timestamp": "timestamp", "double": "double", "string": "string"}[f["type"]]) for f in fields
    ]
    assert all(0 < len(c["Comment"]) <= 255 for c in columns)
    assert table["Name"] == "raw_events"
    assert table["Parameters"]["schema_version"] == str(event_schema()["version"])


def test_a_schema_type_without_a_glue_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"field 'count': type 'integer' has no Glue type"):
        glue_columns({"fields": [{"name": "count", "type": "integer"}]})


@pytest.mark.parametrize(("env", "prefix"), [("sandbox", TIME_PREFIX), ("prod", DEVICE_PREFIX)])
def test_partitions_are_projected_from_the_firehose_prefix(
    variants: dict[str, Synthesized], env: str, prefix: str
) -> None:
    table = _table(variants[env])
    parameters = table["Parameters"]
    keys = [key["Name"] for key in table["PartitionKeys"]]
    # Given the prefix Firehose writes to, the table's keys and location template are that prefix's
    assert _destination(variants[env])["Prefix"] == prefix
    assert _tail(parameters["storage.location.template"]) == "/" + _template_of(prefix)
    assert keys == re.findall(r"([a-z_]+)=", prefix)
    assert parameters["projection.enabled"] == "true"
    for key, (first, last, digits) in {"year": (2020, 2099, 4), "month": (1, 12, 2), "hour": (0, 23, 2)}.items():
        assert (parameters[f"projection.{key}.type"], parameters[f"projection.{key}.range"]) == (
            "integer",
            f"{first},{last}",
        )
        assert parameters[f"projection.{key}.digits"] == str(digits)
    assert _tail(table["StorageDescriptor"]["Location"]) == "/events/"


def test_devices_are_injected_by_the_query(prod: Synthesized) -> None:
    assert _table(prod)["Parameters"]["projection.device_id.type"] == "injected"


@pytest.mark.parametrize("env", ["sandbox", "prod", "variant"])
def test_no_crawler_touches_the_raw_zone(variants: dict[str, Synthesized], env: str) -> None:
    crawlers = variants[env].template("Processing").find_resources("AWS::Glue::Crawler")
    prefixes = [crawler["Properties"]["TablePrefix"] for crawler in crawlers.values()]
    assert prefixes == ["curated_"]


# --- JSON (the default) -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["sandbox", "prod"])
def test_json_objects_are_gzip_json_lines_read_with_the_transform_s_timestamps(
    variants: dict[str, Synthesized], env: str
) -> None:
    destination, table = _destination(variants[env]), _table(variants[env])
    assert destination["CompressionFormat"] == "GZIP"
    assert "DataFormatConversionConfiguration" not in destination
    serde = table["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == JSON_SERDE
    assert serde["Parameters"]["timestamp.formats"] == "yyyy-MM-dd'T'HH:mm:ss'Z',yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    assert (table["Parameters"]["classification"], table["Parameters"]["compressionType"]) == ("json", "gzip")
    assert not any(
        str(action).startswith("glue:") for s in _firehose_statements(variants[env]) for action in s["Action"]
    )
    job = _one(variants[env], "Processing", "AWS::Glue::Job")
    assert job["DefaultArguments"]["--raw_format"] == "json"


# --- Parquet ------------------------------------------------------------------------------------------------------


def test_parquet_converts_after_the_transform_with_the_declared_table(parquet: Synthesized) -> None:
    destination = _destination(parquet)
    conversion = destination["DataFormatConversionConfiguration"]
    (table_id,) = parquet.template("Ingestion").find_resources("AWS::Glue::Table")
    assert conversion["Enabled"] is True
    assert conversion["InputFormatConfiguration"] == {"Deserializer": {"OpenXJsonSerDe": {}}}
    assert conversion["OutputFormatConfiguration"] == {"Serializer": {"ParquetSerDe": {}}}
    assert conversion["SchemaConfiguration"]["TableName"] == {"Ref": table_id}
    assert conversion["SchemaConfiguration"]["VersionId"] == "LATEST"
    # The transform still runs first, and what fails to convert still lands under the error prefix.
    assert [p["Type"] for p in destination["ProcessingConfiguration"]["Processors"]] == ["Lambda"]
    assert destination["ErrorOutputPrefix"].startswith("errors/!{firehose:error-output-type}/")
    # Parquet compresses its own pages: no GZIP around the object.
    assert destination.get("CompressionFormat", "UNCOMPRESSED") == "UNCOMPRESSED"
    assert destination["BufferingHints"]["SizeInMBs"] >= 64


def test_the_parquet_table_reads_parquet(parquet: Synthesized) -> None:
    table = _table(parquet)
    assert table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert table["StorageDescriptor"]["InputFormat"].endswith("MapredParquetInputFormat")
    assert table["Parameters"]["classification"] == "parquet"


def test_firehose_reads_only_that_table_s_schema(parquet: Synthesized) -> None:
    statements = _firehose_statements(parquet)
    (schema_read,) = [s for s in statements if any(str(a).startswith("glue:") for a in s["Action"])]
    assert sorted(schema_read["Action"]) == ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"]
    resources = json.dumps(schema_read["Resource"])
    assert resources.count(":catalog") == 1
    assert resources.count(":database/") == 1
    assert resources.count("/raw_events") == 1
    assert "*" not in resources
    (catalog_key,) = [
        s
        for s in statements
        if s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
        and "glue." in json.dumps(s["Condition"])
    ]
    assert catalog_key["Action"] == "kms:Decrypt"


def test_the_job_reads_parquet_when_firehose_writes_it(parquet: Synthesized) -> None:
    job = _one(parquet, "Processing", "AWS::Glue::Job")
    assert job["DefaultArguments"]["--raw_format"] == "parquet"


def test_the_parquet_variant_passes_cfn_lint(parquet: Synthesized, combinations_review: Report) -> None:
    # Given the gate's review of the variant (tests/conftest.py), which runs cfn-lint over every one of its templates
    name = parquet.settings.name
    assert {f"MlDataLake-{name}-Ingestion", f"MlDataLake-{name}-Processing"} <= set(combinations_review.resources[name])
    # Then cfn-lint reports nothing that fails in the stacks that convert and read Parquet
    failing = [f for f in combinations_review.failing if f.tool == "cfn-lint" and f.environment == name]
    assert [f"{f.rule} at {f.stack} {f.resource}: {f.message}" for f in failing] == []


# --- The setting --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("firehose", "message"),
    [
        (
            {"record_format": "orc"},
            "environments.x.firehose.record_format = 'orc': input should be 'json' or 'parquet'",
        ),
        (
            {"record_format": "parquet", "buffer_size_mb": 32},
            "environments.x.firehose.buffer_size_mb = 32: must be at least 64 when record_format is 'parquet' "
            "(Firehose record format conversion)",
        ),
    ],
)
def test_a_bad_record_format_setting_is_one_line(firehose: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_environment({"x": {"firehose": firehose}}, "x")
    assert str(raised.value) == message


def test_json_is_the_default_record_format() -> None:
    assert load_environment({"x": {}}, "x").firehose.record_format == "json"
