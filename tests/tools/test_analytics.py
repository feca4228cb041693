"""`make analytics-start` / `analytics-stop` / `analytics-status` against botocore's Stubber (no AWS account)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools import analytics
from tools.cost import PriceTable

NAME = "ml-data-lake-test-stream-analytics"
ARN = f"arn:aws:kinesisanalytics:eu-west-1:111111111111:application/{NAME}"
LOG_GROUP = "/ml-data-lake-test/flink/stream-analytics"
PRICES = PriceTable.load()


def _detail(status: str, *, parallelism: int = 2, per_kpu: int = 1, snapshots: bool = True) -> dict[str, Any]:
    return {
        "ApplicationDetail": {
            "ApplicationARN": ARN,
            "ApplicationName": NAME,
            "RuntimeEnvironment": "FLINK-2_2",
            "ApplicationStatus": status,
            "ApplicationVersionId": 1,
            "ApplicationConfigurationDescription": {
                "FlinkApplicationConfigurationDescription": {
                    "ParallelismConfigurationDescription": {
                        "ConfigurationType": "CUSTOM",
                        "Parallelism": parallelism,
                        "ParallelismPerKPU": per_kpu,
                        "CurrentParallelism": parallelism,
                        "AutoScalingEnabled": False,
                    }
                },
                "ApplicationSnapshotConfigurationDescription": {"SnapshotsEnabled": snapshots},
            },
            "CloudWatchLoggingOptionDescriptions": [
                {
                    "CloudWatchLoggingOptionId": "1.1",
                    "LogStreamARN": f"arn:aws:logs:eu-west-1:111111111111:log-group:{LOG_GROUP}:log-stream:{NAME}",
                }
            ],
        }
    }


@pytest.fixture
def stubbed(fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    # A session of its own: boto3's default one would cache the fake credentials for later tests.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    client = boto3.session.Session().client("kinesisanalyticsv2", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _describe(stubber: Stubber, status: str, **kwargs: Any) -> None:
    stubber.add_response("describe_application", _detail(status, **kwargs), {"ApplicationName": NAME})


def _waiter(client: Any, out: io.StringIO, slept: list[float], ceiling: float = 600.0) -> analytics.Waiter:
    """A waiter on a simulated clock: sleeping is what moves time."""

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    return analytics.Waiter(client, out, PRICES, sleep=sleep, monotonic=lambda: sum(slept), ceiling_seconds=ceiling)


def test_start_restores_the_latest_snapshot_and_waits_for_running(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    # Given a READY application with two snapshots, one still being created
    _describe(stubber, "READY")
    stubber.add_response(
        "list_application_snapshots",
        {
            "SnapshotSummaries": [
                {
                    "SnapshotName": "old",
                    "SnapshotStatus": "READY",
                    "ApplicationVersionId": 1,
                    "SnapshotCreationTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
                },
                {
                    "SnapshotName": "new",
                    "SnapshotStatus": "READY",
                    "ApplicationVersionId": 1,
                    "SnapshotCreationTimestamp": datetime(2026, 2, 1, tzinfo=UTC),
                },
                {
                    "SnapshotName": "wip",
                    "SnapshotStatus": "CREATING",
                    "ApplicationVersionId": 1,
                    "SnapshotCreationTimestamp": datetime(2026, 3, 1, tzinfo=UTC),
                },
            ]
        },
        {"ApplicationName": NAME, "Limit": 50},
    )
    stubber.add_response(
        "start_application",
        {},
        {
            "ApplicationName": NAME,
            "RunConfiguration": {
                "FlinkRunConfiguration": {"AllowNonRestoredState": False},
                "ApplicationRestoreConfiguration": {
                    "ApplicationRestoreType": "RESTORE_FROM_CUSTOM_SNAPSHOT",
                    "SnapshotName": "new",
                },
            },
        },
    )
    for status in ("STARTING", "STARTING", "RUNNING"):
        _describe(stubber, status)
    out, slept = io.StringIO(), []
    # When it is started
    result = analytics.start(client, NAME, PRICES, _waiter(client, out, slept), skip_snapshot=False, out=out)
    # Then it runs, from the newest ready snapshot, and each state was said once with its hourly cost
    assert result.status == "RUNNING"
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{NAME} is READY (stopped: created and not running, nothing billed)"
    assert lines[1] == "start requested from snapshot new"
    assert lines[2].startswith(
        f"  {NAME} is STARTING (starting: resources are being provisioned (billed from here)); about 0."
    )
    assert lines[3].startswith(f"  {NAME} is RUNNING (running: reading the stream and billed per KPU-hour); about 0.")
    assert lines[3].endswith("USD/hour at 3 KPUs")
    assert slept == [analytics.POLL_SECONDS, analytics.POLL_SECONDS]


def test_start_without_snapshots_starts_empty(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, "READY", snapshots=False)
    stubber.add_response(
        "start_application",
        {},
        {
            "ApplicationName": NAME,
            "RunConfiguration": {
                "FlinkRunConfiguration": {"AllowNonRestoredState": False},
                "ApplicationRestoreConfiguration": {"ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"},
            },
        },
    )
    _describe(stubber, "STARTING", snapshots=False)
    out = io.StringIO()
    assert analytics.start(client, NAME, PRICES, None, skip_snapshot=False, out=out).status == "STARTING"
    assert "start requested with empty state (no snapshot restored)" in out.getvalue()


@pytest.mark.parametrize("status", ["RUNNING", "STARTING", "UPDATING"])
def test_starting_a_running_application_does_nothing(stubbed: tuple[Any, Stubber], status: str) -> None:
    client, stubber = stubbed
    _describe(stubber, status)
    out = io.StringIO()
    analytics.start(client, NAME, PRICES, None, skip_snapshot=False, out=out)
    assert f"nothing to do: {NAME} is already {status}" in out.getvalue()


def test_start_refuses_a_stopping_application_and_says_what_to_do(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, "STOPPING")
    with pytest.raises(analytics.AnalyticsError, match=r"cannot start while STOPPING .*start needs READY: wait"):
        analytics.start(client, NAME, PRICES, None, skip_snapshot=False, out=io.StringIO())


def test_stop_takes_a_snapshot_and_waits_for_ready(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, "RUNNING")
    stubber.add_response("stop_application", {}, {"ApplicationName": NAME, "Force": False})
    for status in ("STOPPING", "READY"):
        _describe(stubber, status)
    out, slept = io.StringIO(), []
    result = analytics.stop(client, NAME, PRICES, _waiter(client, out, slept), force=False, out=out)
    assert result.status == "READY"
    assert "stop requested with a snapshot" in out.getvalue()
    assert out.getvalue().splitlines()[-1] == f"  {NAME} is READY (stopped: created and not running, nothing billed)"


def test_a_starting_application_stops_only_with_force(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, "STARTING")
    with pytest.raises(analytics.AnalyticsError, match=r"stop needs RUNNING \(or STARTING with --force\)"):
        analytics.stop(client, NAME, PRICES, None, force=False, out=io.StringIO())
    _describe(stubber, "STARTING")
    stubber.add_response("stop_application", {}, {"ApplicationName": NAME, "Force": True})
    _describe(stubber, "FORCE_STOPPING")
    out = io.StringIO()
    assert analytics.stop(client, NAME, PRICES, None, force=True, out=out).status == "FORCE_STOPPING"
    assert "stop requested without a snapshot (--force)" in out.getvalue()


def test_a_start_that_falls_back_to_ready_fails_and_names_the_log_group(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    # Given a start that the service accepts, reports READY once more, then STARTING, then READY again
    _describe(stubber, "READY", snapshots=False)
    stubber.add_response("start_application", {})
    for status in ("READY", "STARTING", "READY"):
        _describe(stubber, status, snapshots=False)
    out, slept = io.StringIO(), []
    # When the start is awaited
    with pytest.raises(analytics.AnalyticsError) as failure:
        analytics.start(client, NAME, PRICES, _waiter(client, out, slept), skip_snapshot=False, out=out)
    # Then the first READY is patience, the second a failure that says where to look
    assert str(failure.value) == (f"{NAME} went to READY instead of RUNNING: see its log group {LOG_GROUP}")


def test_the_ceiling_ends_a_wait_with_a_hint(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for _ in range(3):
        _describe(stubber, "STARTING")
    out, slept = io.StringIO(), []
    with pytest.raises(analytics.AnalyticsError, match=r"still STARTING after 30 s; run `make analytics-status` later"):
        _waiter(client, out, slept, ceiling=30.0).until(NAME, "RUNNING", passing={"STARTING"})
    assert slept == [analytics.POLL_SECONDS, analytics.POLL_SECONDS]


def test_the_hourly_cost_counts_every_kpu_and_its_storage() -> None:
    # Given 3 tasks at 2 per KPU: 2 KPUs, plus one for orchestration
    application = analytics.Application(NAME, "RUNNING", parallelism=3, parallelism_per_kpu=2, snapshots=True)
    assert application.kpus == 3
    # Then 3 x 0.11 plus 2 x 50 GB of running storage at 0.10 per GB-month (730 h)
    assert analytics.hourly_cost(application, PRICES) == pytest.approx(3 * 0.11 + 100 * 0.10 / 730)


def _outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, analytics_outputs: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    document = {"MlDataLake-test-Analytics": analytics_outputs}
    (tmp_path / "outputs" / "test.json").write_text(json.dumps(document))


def test_the_command_finds_the_application_in_the_outputs(
    stubbed: tuple[Any, Stubber], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stubber = stubbed
    _outputs(tmp_path, monkeypatch, {"AnalyticsApplicationArn": ARN})
    _describe(stubber, "READY")
    regions: list[str] = []

    def client_for(region: str) -> Any:
        regions.append(region)
        return client

    out = io.StringIO()
    assert analytics.main(["status", "--env", "test"], client_for=client_for, out=out) == 0
    assert regions == ["eu-west-1"]
    assert out.getvalue() == f"{NAME} is READY (stopped: created and not running, nothing billed)\n"


def test_without_an_application_the_command_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _outputs(tmp_path, monkeypatch, {"DeviceStatusTableName": "t"})
    assert analytics.main(["start", "--env", "test"], client_for=lambda region: None) == 2
    assert (
        "set analytics.enabled to true for 'test' in cdk.json and run `make deploy ENV=test`" in capsys.readouterr().err
    )
