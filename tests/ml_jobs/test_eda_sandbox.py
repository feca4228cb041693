"""`make eda ENV=sandbox`: the table and workgroup found from the stack outputs, read through Athena (stubbed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awswrangler as wr
import boto3
import pandas as pd
import pytest
from moto import mock_aws

from ml_jobs.eda import sandbox
from ml_jobs.eda.sources import read_athena
from tests.ml_jobs.support import readings
from tests.tools.conftest import REGION

pytestmark = pytest.mark.usefixtures("fake_aws")


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Placeholder credentials and region, so nothing can reach an account."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_CONFIG_FILE", str(tmp_path / "none")),
    ):
        monkeypatch.setenv(name, value)


class AthenaStub:
    """awswrangler's two calls the reader makes, recorded; the query answers with the given frame."""

    def __init__(self, frame: pd.DataFrame, columns: dict[str, str]) -> None:
        self.frame, self.columns, self.queries = frame, columns, []  # type: list[dict[str, Any]]

    def get_table_types(self, *, database: str, table: str) -> dict[str, str]:
        return self.columns

    def read_sql_query(self, sql: str, **kwargs: Any) -> pd.DataFrame:
        self.queries.append({"sql": sql, **kwargs})
        return self.frame


def _stub(monkeypatch: pytest.MonkeyPatch, frame: pd.DataFrame, columns: dict[str, str]) -> AthenaStub:
    stub = AthenaStub(frame, columns)
    monkeypatch.setattr(wr.catalog, "get_table_types", stub.get_table_types)
    monkeypatch.setattr(wr.athena, "read_sql_query", stub.read_sql_query)
    return stub


def test_athena_reads_the_newest_rows_of_the_table_in_the_workgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    stub = _stub(monkeypatch, pd.DataFrame({"x": [1]}), {"event_ts": "timestamp", "x": "int"})
    read_athena("lake_db.curated_events", "lake-wg", max_rows=500)
    assert stub.queries == [
        {
            "sql": 'SELECT * FROM "lake_db"."curated_events" ORDER BY "event_ts" DESC LIMIT 500',
            "database": "lake_db",
            "workgroup": "lake-wg",
            "ctas_approach": False,
        }
    ]


def test_sandbox_finds_the_curated_table_and_workgroup_and_analyses_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given deployed outputs naming the workgroup and the curated crawler, and that crawler in Glue (moto)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "sandbox.json").write_text(
        json.dumps(
            {
                "MlDataLake-sandbox-Processing": {
                    "AthenaWorkGroup": "ml-data-lake-sandbox",
                    "CuratedCrawlerName": "curated-crawler",
                }
            }
        )
    )
    frame = readings(devices=3, hours=24.0, interval=600.0, seed=1)
    stub = _stub(monkeypatch, frame, dict.fromkeys(frame.columns, "string"))
    with mock_aws():
        glue = boto3.client("glue", region_name=REGION)
        glue.create_database(DatabaseInput={"Name": "ml_data_lake_sandbox"})
        glue.create_crawler(
            Name="curated-crawler",
            Role="arn:aws:iam::111111111111:role/crawler",
            DatabaseName="ml_data_lake_sandbox",
            TablePrefix="curated_",
            Targets={"S3Targets": [{"Path": "s3://curated-bucket/events/"}]},
        )

        # When `make eda ENV=sandbox` runs
        status = sandbox.main(["--env", "sandbox", "--out", "report", "--trees", "10"], glue=glue)

    # Then it queried the crawler's table in the stack's workgroup and wrote the report
    assert status == 0, capsys.readouterr().err
    assert stub.queries[0]["sql"].startswith('SELECT * FROM "ml_data_lake_sandbox"."curated_events"')
    assert stub.queries[0]["workgroup"] == "ml-data-lake-sandbox"
    assert (tmp_path / "report" / "index.html").exists()
    assert json.loads((tmp_path / "report" / "metrics.json").read_text())["input"] == (
        "athena:ml_data_lake_sandbox.curated_events"
    )


def test_sandbox_without_deployed_outputs_is_one_line_naming_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        sandbox.main(["--env", "sandbox"])
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith(f"{sandbox.PROG}: error: --env: outputs/sandbox.json not found")
    )


def test_sandbox_with_a_crawler_that_is_gone_is_one_line_suggesting_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given outputs naming a crawler that does not exist (moto's Glue is empty)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "sandbox.json").write_text(
        json.dumps({"P": {"AthenaWorkGroup": "wg", "CuratedCrawlerName": "gone"}})
    )
    with mock_aws(), pytest.raises(SystemExit):
        sandbox.main(["--env", "sandbox"], glue=boto3.client("glue", region_name=REGION))
    line = capsys.readouterr().err.splitlines()[-1]
    assert line.startswith(f"{sandbox.PROG}: error: --env: cannot read the curated crawler gone of sandbox")
    assert line.endswith("; or pass --table")
