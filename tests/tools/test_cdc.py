"""`make cdc-start` / `cdc-stop` / `cdc-status` against botocore's Stubber (no AWS account)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools import cdc
from tools.cost import PriceTable

ARN = "arn:aws:dms:eu-west-1:111111111111:replication-config:ABCDEFGHIJKLMNOP"
NAME = "ml-data-lake-test-cdc"
FILTER = {"Filters": [{"Name": "replication-config-arn", "Values": [ARN]}]}
PRICES = PriceTable.load()
PER_DCU = PRICES.usd(cdc.PRICE)


@pytest.fixture
def stubbed(fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Stubber]]:
    # A session of its own: boto3's default one would cache the fake credentials for later tests.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    client = boto3.session.Session().client("dms", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _describe(stubber: Stubber, status: str | None, *, provision: str | None = None, dcu: int | None = None) -> None:
    config = {
        "ReplicationConfigIdentifier": NAME,
        "ReplicationConfigArn": ARN,
        "ComputeConfig": {"MinCapacityUnits": 1, "MaxCapacityUnits": 4},
    }
    stubber.add_response("describe_replication_configs", {"ReplicationConfigs": [config]}, FILTER)
    replication: dict[str, Any] = {"ReplicationConfigIdentifier": NAME, "ReplicationConfigArn": ARN}
    if status is not None:
        replication["Status"] = status
    if provision is not None:
        replication["ProvisionData"] = {
            "ProvisionState": provision,
            **({"ProvisionedCapacityUnits": dcu} if dcu else {}),
        }
    stubber.add_response("describe_replications", {"Replications": [replication] if status else []}, FILTER)


def test_the_first_start_prints_the_hourly_cost_then_starts_a_full_load(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    # Given a replication created by the deploy and never started (DMS lists no replication for it yet)
    _describe(stubber, None)
    stubber.add_response(
        "start_replication",
        {},
        {"ReplicationConfigArn": ARN, "StartReplicationType": "start-replication"},
    )
    _describe(stubber, "initializing")
    out = io.StringIO()
    # When it is started
    result = cdc.start(client, ARN, PRICES, reload=False, out=out)
    # Then the cost of a running hour was printed before the request, and DMS now bills it
    lines = out.getvalue().splitlines()
    assert lines[0] == f"{NAME} is created; nothing billed"
    assert lines[1].startswith(f"starting bills about {PER_DCU:.2f}-{4 * PER_DCU:.2f} USD/hour (1-4 DCUs at ")
    assert lines[2] == "start-replication requested"
    assert result.status == "initializing"
    assert cdc.billed(result)


@pytest.mark.parametrize(
    ("status", "reload", "kind"),
    [("stopped", False, "resume-processing"), ("stopped", True, "reload-target"), ("failed", True, "reload-target")],
)
def test_a_stopped_replication_resumes_or_reloads(
    stubbed: tuple[Any, Stubber], status: str, reload: bool, kind: str
) -> None:
    client, stubber = stubbed
    _describe(stubber, status, provision="deprovisioned")
    stubber.add_response("start_replication", {}, {"ReplicationConfigArn": ARN, "StartReplicationType": kind})
    _describe(stubber, "initializing")
    assert cdc.start(client, ARN, PRICES, reload=reload, out=io.StringIO()).status == "initializing"


def test_a_failed_replication_is_not_resumed_blindly(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, "failed", provision="deprovisioned")
    with pytest.raises(cdc.CdcError, match=r"cannot resume from failed: .* `make cdc-start RELOAD=1`"):
        cdc.start(client, ARN, PRICES, reload=False, out=io.StringIO())


def test_running_is_left_running_and_stopping_it_says_capacity_stays_billed(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, "running", provision="provisioned", dcu=2)
    out = io.StringIO()
    assert cdc.start(client, ARN, PRICES, reload=False, out=out).status == "running"
    assert out.getvalue().splitlines()[-1] == f"nothing to do: {NAME} is already running"
    # When it is stopped
    _describe(stubber, "running", provision="provisioned", dcu=2)
    stubber.add_response("stop_replication", {}, {"ReplicationConfigArn": ARN})
    _describe(stubber, "stopped", provision="provisioned", dcu=2)
    stopped = cdc.stop(client, ARN, PRICES, out=out)
    # Then it is stopped but, until DMS deprovisions the capacity, still billed
    assert stopped.status == "stopped"
    assert cdc.describe_state(stopped, PRICES) == (
        f"{NAME} is stopped (2 DCUs provisioned); billed: about {PER_DCU:.2f}-{4 * PER_DCU:.2f} USD/hour (1-4 DCUs)"
    )


def test_stopping_a_replication_that_never_ran_does_nothing(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    _describe(stubber, None)
    out = io.StringIO()
    assert cdc.stop(client, ARN, PRICES, out=out).status == "created"
    assert out.getvalue().splitlines()[-1] == f"nothing to do: {NAME} is created"


def _outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cdc_outputs: dict[str, str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "test.json").write_text(json.dumps({"MlDataLake-test-Cdc": cdc_outputs}))


def test_status_finds_the_replication_in_the_outputs(
    stubbed: tuple[Any, Stubber], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, stubber = stubbed
    _outputs(tmp_path, monkeypatch, {"CdcReplicationConfigArn": ARN})
    _describe(stubber, "stopped", provision="deprovisioned")
    regions: list[str] = []

    def client_for(region: str) -> Any:
        regions.append(region)
        return client

    out = io.StringIO()
    assert cdc.main(["status", "--env", "test"], client_for=client_for, out=out) == 0
    assert regions == ["eu-west-1"]
    assert out.getvalue() == f"{NAME} is stopped; nothing billed\n"


def test_with_the_unit_off_or_not_deployed_the_command_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given outputs without a replication (the unit is off)
    _outputs(tmp_path, monkeypatch, {"Other": "x"})
    assert cdc.main(["start", "--env", "test"], client_for=lambda region: None) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "set cdc.enabled to true for 'test' in cdk.json and run `make deploy ENV=test`" in error
    # And an environment never deployed from this checkout
    assert cdc.main(["status", "--env", "other"], client_for=lambda region: None) == 2
    assert "outputs/other.json not found" in capsys.readouterr().err
