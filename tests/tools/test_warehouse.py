"""`make warehouse-query` against botocore's Stubber, and the warehouse's SQL against the curated zone's layout."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from pyspark.sql import types as spark_types

from glue_jobs.curate_events import transforms
from glue_jobs.curate_events.schema import DEVICE_TABLE_STRUCT, load_schema
from infra.schema import EVENT_SCHEMA_FILE
from tools import warehouse

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "warehouse" / "sql"
REGION = "eu-west-1"
WORKGROUP = "ml-data-lake-test"
BUCKET = "ml-data-lake-test-curated-111111111111-eu-west-1-an"
ADMIN_ARN = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:redshift!ml-data-lake-test-lake_admin-AbCdEf"
OUTPUTS = {
    "WarehouseWorkgroupArn": f"arn:aws:redshift-serverless:{REGION}:111111111111:workgroup/0000-1111",
    "WarehouseWorkgroupName": WORKGROUP,
    "WarehouseNamespaceName": WORKGROUP,
    "WarehouseDatabase": "warehouse",
    "WarehouseCuratedZone": BUCKET,
    "WarehouseExternalSchema": "lake",
}
WHERE = {"WorkgroupName": WORKGROUP, "Database": "warehouse"}


class Aws:
    """Stubbed Data API and Redshift Serverless clients, handed to the tool by region."""

    def __init__(self) -> None:
        # A session of its own: the Stubber answers before any request is signed, and boto3's default session (which
        # caches credentials) stays as other tests expect it.
        session = boto3.session.Session(region_name=REGION)
        self.data = session.client("redshift-data")
        self.serverless = session.client("redshift-serverless")
        self.data_stub, self.serverless_stub = Stubber(self.data), Stubber(self.serverless)
        self.regions: list[str] = []

    def client(self, service: str, region: str) -> Any:
        self.regions.append(region)
        return self.data if service == "redshift-data" else self.serverless

    def finished(self, statement_id: str, **description: Any) -> None:
        self.data_stub.add_response(
            "describe_statement", {"Id": statement_id, "Status": "FINISHED", **description}, {"Id": statement_id}
        )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Aws]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "test.json").write_text(json.dumps({"MlDataLake-test-Warehouse": OUTPUTS}))
    # The tool polls with a sleep; the tests do not wait.
    monkeypatch.setattr(warehouse.time, "sleep", lambda seconds: None)
    stubs = Aws()
    with stubs.data_stub, stubs.serverless_stub:
        yield stubs
        stubs.data_stub.assert_no_pending_responses()
        stubs.serverless_stub.assert_no_pending_responses()


def _run(aws: Aws, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = warehouse.main(["--env", "test", *args], clients=aws.client, out=out)
    return code, out.getvalue()


def test_a_query_runs_as_the_callers_identity_and_prints_its_rows(aws: Aws) -> None:
    # Given a query on the external schema, which the Data API runs asynchronously
    sql = "SELECT status, COUNT(*) AS n FROM lake.curated_events GROUP BY status"
    aws.data_stub.add_response("execute_statement", {"Id": "q1"}, {"Sql": sql, **WHERE})
    aws.data_stub.add_response("describe_statement", {"Id": "q1", "Status": "STARTED"}, {"Id": "q1"})
    aws.finished("q1", HasResultSet=True)
    aws.data_stub.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": [{"name": "status"}, {"name": "n"}],
            "Records": [[{"stringValue": "ok"}, {"longValue": 7}], [{"isNull": True}, {"longValue": 2}]],
            "NextToken": "page-2",
        },
        {"Id": "q1"},
    )
    aws.data_stub.add_response(
        "get_statement_result",
        {
            "ColumnMetadata": [{"name": "status"}, {"name": "n"}],
            "Records": [[{"stringValue": "error"}, {"longValue": 1}]],
        },
        {"Id": "q1", "NextToken": "page-2"},
    )
    # When the tool runs it
    code, printed = _run(aws, "--sql", sql)
    # Then every page is printed as one table, in the workgroup's region, with no secret involved
    assert code == 0
    assert printed.splitlines() == ["status  n", "------  -", "ok      7", "NULL    2", "error   1", "(3 rows)"]
    assert set(aws.regions) == {REGION}


def test_the_copy_file_fills_the_curated_zone_and_runs_as_one_batch_as_the_admin(aws: Aws) -> None:
    # Given the documented COPY, run as the admin
    aws.serverless_stub.add_response(
        "get_namespace",
        {"namespace": {"namespaceName": WORKGROUP, "adminPasswordSecretArn": ADMIN_ARN}},
        {"namespaceName": WORKGROUP},
    )
    expected = [
        "-- Reload the warehouse table from the curated zone: COPY reads every Parquet object under events/ with the\n"
        "-- namespace's default role (the Spectrum role, which may read events/ and analytics/ only). COPY appends, so "
        "the\n-- table is emptied first; both run in one transaction (make warehouse-query sends a file as one batch), "
        "so a failed\n-- COPY leaves the previous rows in place.\nDELETE FROM public.sensor_events",
        f"COPY public.sensor_events\nFROM 's3://{BUCKET}/events/'\nIAM_ROLE default\nFORMAT AS PARQUET",
    ]
    aws.data_stub.add_response(
        "batch_execute_statement", {"Id": "b1"}, {"Sqls": expected, "SecretArn": ADMIN_ARN, **WHERE}
    )
    aws.finished("b1", ResultRows=42, SubStatements=[{"Id": "b1:1", "HasResultSet": False}, {"Id": "b1:2"}])
    # When the tool runs the file
    code, printed = _run(aws, "--file", str(SQL / "copy_sensor_events.sql"), "--admin")
    # Then both statements ran in one batch with the bucket filled in, and it says so
    assert code == 0
    assert printed.strip() == "OK: 2 statement(s), 42 row(s) affected"


@pytest.mark.parametrize("status", ["FAILED", "ABORTED"])
def test_a_failed_statement_exits_1_with_redshifts_error_text(
    aws: Aws, status: str, capsys: pytest.CaptureFixture[str]
) -> None:
    aws.data_stub.add_response("execute_statement", {"Id": "q2"}, {"Sql": "SELECT nope", **WHERE})
    aws.data_stub.add_response(
        "describe_statement",
        {"Id": "q2", "Status": status, "Error": 'ERROR: column "nope" does not exist'},
        {"Id": "q2"},
    )
    code, _ = _run(aws, "--sql", "SELECT nope")
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        f'python -m tools.warehouse: error: statement q2 {status}: ERROR: column "nope" does not exist'
    )


def test_a_statement_past_the_timeout_is_cancelled(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    aws.data_stub.add_response("execute_statement", {"Id": "q3"}, {"Sql": "SELECT 1", **WHERE})
    aws.data_stub.add_response("describe_statement", {"Id": "q3", "Status": "STARTED"}, {"Id": "q3"})
    aws.data_stub.add_response("cancel_statement", {"Status": True}, {"Id": "q3"})
    code, _ = _run(aws, "--sql", "SELECT 1", "--timeout", "0")
    assert code == 1
    assert "statement q3 still STARTED after 0 s: cancelled" in capsys.readouterr().err


def test_an_unknown_placeholder_runs_nothing(aws: Aws, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run(aws, "--sql", "SELECT * FROM {schema}.t")
    assert code == 1
    assert "unknown placeholder {schema} in the SQL; known: curated_zone, external_schema" in capsys.readouterr().err


def test_without_deployed_outputs_it_says_to_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert warehouse.main(["--env", "test", "--sql", "SELECT 1"]) == 2
    assert "run `make deploy ENV=test`" in capsys.readouterr().err


def test_statements_split_at_semicolons_outside_quotes_and_comments() -> None:
    sql = "-- a; comment\nSELECT 'a;b' AS \"x;y\";\n\n-- only a comment;\n;SELECT 2 -- trailing; note\n"
    assert warehouse.split_statements(sql) == [
        "-- a; comment\nSELECT 'a;b' AS \"x;y\"",
        "SELECT 2 -- trailing; note",
    ]


# --- The warehouse's SQL against the curated zone ------------------------------------------------------------------

REDSHIFT_TYPES = {
    spark_types.StringType(): "VARCHAR",
    spark_types.DoubleType(): "DOUBLE PRECISION",
    spark_types.TimestampType(): "TIMESTAMP",
    spark_types.DateType(): "DATE",
    spark_types.IntegerType(): "INTEGER",
}


def _curated_file_columns() -> list[tuple[str, str]]:
    """The columns of the curated Parquet files as the job writes them (partition columns are folder names)."""
    schema = load_schema(EVENT_SCHEMA_FILE)
    devices = {f.name: f.dataType for f in DEVICE_TABLE_STRUCT.fields}
    reference = [name for name in devices if name != transforms.DEVICE_ID]
    types = {
        **{spec.name: spec.spark_type for spec in schema.fields},
        **transforms.DERIVED_COLUMNS,
        **devices,
    }
    columns = [c for c in transforms.curated_columns(schema, reference) if c not in transforms.PARTITION_COLUMNS]
    return [(name, REDSHIFT_TYPES[types[name]]) for name in columns]


def test_the_warehouse_table_has_the_curated_files_columns_in_their_order() -> None:
    # COPY ... FORMAT AS PARQUET maps columns by position: the table must list the files' columns in order
    text = (SQL / "sensor_events_table.sql").read_text(encoding="utf-8")
    declared = re.findall(r"^\s{4}([a-z_]+) ([A-Z ]+?)(?:\(\d+\))?(?: NOT NULL)?,?$", text, flags=re.MULTILINE)
    assert declared == _curated_file_columns()


def test_every_sql_file_holds_statements_with_only_the_placeholders_the_tool_fills_in() -> None:
    placeholders = dict.fromkeys(("curated_zone", "external_schema"), "filled")
    files = sorted(SQL.glob("*.sql"))
    assert [path.name for path in files] == [
        "copy_sensor_events.sql",
        "sensor_events_table.sql",
        "spectrum_status_by_site.sql",
    ]
    for path in files:
        statements = warehouse.split_statements(warehouse.fill(path.read_text(encoding="utf-8"), placeholders))
        assert statements, path.name
        assert not any("{" in statement for statement in statements), path.name
