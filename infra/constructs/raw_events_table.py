"""The raw zone's event table, declared from the event schema file: columns, Firehose's partitions, projection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.schema import table_columns

RecordFormat = Literal["json", "parquet"]
Partitioning = Literal["time", "device"]

RAW_EVENTS_TABLE: Final = "raw_events"
# Partition columns in the order of Firehose's prefixes (infra/constructs/delivery_stream.py): device first with
# device partitioning. They are text, as Hive-style folder names are: `month='03'`, like the curated table.
TIME_KEYS: Final = ("year", "month", "day", "hour")
DEVICE_KEY: Final = "device_id"
# Projected values of each time key: (first, last, digits). Queries that filter on the keys read only the
# matching folders; the year range covers replays of old readings (device partitioning uses the reading's time).
TIME_RANGES: Final[Mapping[str, tuple[int, int, int]]] = {
    "year": (2020, 2099, 4),
    "month": (1, 12, 2),
    "day": (1, 31, 2),
    "hour": (0, 23, 2),
}
# The transform writes event_time as ISO-8601 UTC with Z, with milliseconds only when there are some.
JSON_TIMESTAMP_FORMATS: Final = "yyyy-MM-dd'T'HH:mm:ss'Z',yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
# How each record format is stored: Hive's input/output formats, the SerDe and its parameters.
STORAGE: Final[Mapping[str, Mapping[str, Any]]] = {
    "json": {
        "input": "org.apache.hadoop.mapred.TextInputFormat",
        "output": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "serde": "org.apache.hive.hcatalog.data.JsonSerDe",
        "serde_parameters": {"timestamp.formats": JSON_TIMESTAMP_FORMATS},
        "parameters": {"classification": "json", "compressionType": "gzip"},
    },
    "parquet": {
        "input": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "output": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "serde_parameters": {"serialization.format": "1"},
        "parameters": {"classification": "parquet", "compressionType": "none"},
    },
}
# Actions Firehose's record format conversion documents for reading the table's schema.
SCHEMA_READ_ACTIONS: Final = ("glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions")


def partition_keys(partitioning: Partitioning) -> tuple[str, ...]:
    """The raw zone's partition columns, outermost first, as Firehose's prefix lays them out."""
    return (DEVICE_KEY, *TIME_KEYS) if partitioning == "device" else TIME_KEYS


def glue_columns(schema: Mapping[str, Any]) -> list[glue.CfnTable.ColumnProperty]:
    """The schema document's fields as Glue columns (infra/schema.py maps the types), in declaration order."""
    return [
        glue.CfnTable.ColumnProperty(name=column.name, type=column.type, comment=column.comment)
        for column in table_columns(schema)
    ]


def projection_parameters(partitioning: Partitioning, location: str) -> dict[str, str]:
    """Athena partition projection for the raw zone's prefix: partitions computed at query time, never crawled."""
    parameters = {"projection.enabled": "true"}
    if partitioning == "device":
        # Devices are not known in advance: a query names the device it reads (WHERE device_id = '...').
        parameters[f"projection.{DEVICE_KEY}.type"] = "injected"
    for key, (first, last, digits) in TIME_RANGES.items():
        parameters[f"projection.{key}.type"] = "integer"
        parameters[f"projection.{key}.range"] = f"{first},{last}"
        parameters[f"projection.{key}.digits"] = str(digits)
    folders = "/".join(f"{key}=${{{key}}}" for key in partition_keys(partitioning))
    parameters["storage.location.template"] = f"{location}{folders}/"
    return parameters


class RawEventsTable(Construct):
    """The Glue table `raw_events` over the raw zone's events/, declared from the schema file the Lambda enforces."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: glue.IDatabase,
        raw_zone: s3.IBucket,
        prefix: str,
        schema: Mapping[str, Any],
        partitioning: Partitioning,
        record_format: RecordFormat,
    ) -> None:
        super().__init__(scope, id)
        self.database_name = database.database_name
        self.name = RAW_EVENTS_TABLE
        self.record_format = record_format
        self.location = raw_zone.s3_url_for_object(prefix)
        storage = STORAGE[record_format]
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=Stack.of(self).account,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=RAW_EVENTS_TABLE,
                description=f"Events Firehose delivers to the raw zone as {record_format} objects; columns declared "
                f"from the event schema {schema['name']} v{schema['version']} "
                "(lambdas/firehose_transform/sensor_event_schema.json); partitions projected, never crawled.",
                table_type="EXTERNAL_TABLE",
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=key, type="string") for key in partition_keys(partitioning)
                ],
                parameters={
                    **storage["parameters"],
                    "schema_version": str(schema["version"]),
                    **projection_parameters(partitioning, self.location),
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=glue_columns(schema),
                    location=self.location,
                    input_format=storage["input"],
                    output_format=storage["output"],
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=storage["serde"], parameters=dict(storage["serde_parameters"])
                    ),
                ),
            ),
        )
        stack = Stack.of(self)
        self.arns = (
            stack.format_arn(service="glue", resource="catalog", arn_format=ArnFormat.NO_RESOURCE_NAME),
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            stack.format_arn(service="glue", resource="table", resource_name=f"{self.database_name}/{self.name}"),
        )

    def grant_schema_read(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` (Firehose's role) read the table's schema, and nothing else of the catalog."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SCHEMA_READ_ACTIONS), resources=list(self.arns))
        )
