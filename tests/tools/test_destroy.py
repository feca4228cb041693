"""`make destroy`: the refusal for an environment that keeps its data, and what a forced or plain destroy does.

CloudFormation and STS are answered by botocore's Stubber; `cdk destroy` is a recording stand-in.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tools import destroy

REGION = "eu-west-1"
ACCOUNT = "111111111111"
CDK = ["node_modules/.bin/cdk", "--no-notices", "--no-version-reporting"]
ENVIRON = {"AWS_REGION": REGION}
CREATED = "2026-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.chdir(tmp_path)


class Account:
    """Stubbed STS and CloudFormation, and the commands run."""

    def __init__(self) -> None:
        self.clients = {
            service: boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")  # noqa: S106 - fake
            for service in ("sts", "cloudformation")
        }
        self.stubs = {service: Stubber(client) for service, client in self.clients.items()}
        self.ran: list[list[str]] = []

    def stacks(self, env: str, *units: str, protected: bool) -> None:
        self.stubs["sts"].add_response(
            "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/u", "UserId": "U"}, {}
        )
        stacks = [
            {
                "StackName": f"MlDataLake-{env}-{unit}",
                "CreationTime": CREATED,
                "StackStatus": "CREATE_COMPLETE",
                "EnableTerminationProtection": protected,
            }
            for unit in units
        ]
        # Another environment's stack and a deleted one are not this environment's.
        stacks += [
            {"StackName": "MlDataLake-other-Core", "CreationTime": CREATED, "StackStatus": "CREATE_COMPLETE"},
            {"StackName": f"MlDataLake-{env}-Old", "CreationTime": CREATED, "StackStatus": "DELETE_COMPLETE"},
        ]
        self.stubs["cloudformation"].add_response("describe_stacks", {"Stacks": stacks}, {})

    def template(self, stack: str, resources: dict[str, Any], physical: dict[str, str]) -> None:
        cloudformation = self.stubs["cloudformation"]
        cloudformation.add_response(
            "get_template",
            {"TemplateBody": json.dumps({"Resources": resources})},
            {"StackName": stack, "TemplateStage": "Original"},
        )
        if any(r.get("DeletionPolicy") == "Retain" for r in resources.values()):
            cloudformation.add_response(
                "list_stack_resources",
                {
                    "StackResourceSummaries": [
                        {
                            "LogicalResourceId": logical,
                            "PhysicalResourceId": physical_id,
                            "ResourceType": resources[logical]["Type"],
                            "LastUpdatedTimestamp": CREATED,
                            "ResourceStatus": "CREATE_COMPLETE",
                        }
                        for logical, physical_id in physical.items()
                    ]
                },
                {"StackName": stack},
            )

    def unprotect(self, stack: str) -> None:
        self.stubs["cloudformation"].add_response(
            "update_termination_protection",
            {"StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/1"},
            {"StackName": stack, "EnableTerminationProtection": False},
        )

    def run(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[bytes]:
        self.ran.append(command)
        return subprocess.CompletedProcess(command, 0)

    def main(self, *argv: str) -> int:
        return destroy.main(
            [*argv, "--", *CDK],
            clients=lambda service, region: self.clients[service],
            profile_region=None,
            environ=ENVIRON,
            run=self.run,
        )


@pytest.fixture
def account() -> Iterator[Account]:
    account = Account()
    for stub in account.stubs.values():
        stub.activate()
    yield account
    for stub in account.stubs.values():
        stub.assert_no_pending_responses()


def test_prod_is_refused_without_force_before_any_aws_call(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no FORCE (and no scripted AWS answer: any call would fail)
    status = account.main("--env", "prod")

    # Then one line says why and how to insist, and nothing ran
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [
        "python -m tools.destroy: error: refusing to destroy 'prod': its settings keep its data (removal_policy = "
        "retain, termination protection on). To delete its stacks anyway run `make destroy ENV=prod FORCE=prod`; "
        "its retained buckets, key, stream, catalog database and log groups then stay in the account, and are "
        "listed before anything is deleted"
    ]
    assert account.ran == []


def test_a_force_for_another_environment_does_not_count(account: Account) -> None:
    assert account.main("--env", "prod", "--force", "sandbox") == 2
    assert account.ran == []


def test_sandbox_is_destroyed_without_a_prompt_and_its_outputs_file_removed(
    account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given the deployed sandbox and its outputs file
    (tmp_path / "outputs").mkdir()
    (tmp_path / "outputs" / "sandbox.json").write_text("{}")
    account.stacks("sandbox", "Core", "Storage", protected=False)

    # When make destroy runs
    status = account.main("--env", "sandbox")

    # Then every stack of the environment is destroyed, without a prompt, and the outputs file goes with them
    assert status == 0
    assert account.ran == [[CDK[0], "destroy", *CDK[1:], "--all", "-c", "env=sandbox", "--force"]]
    assert not (tmp_path / "outputs" / "sandbox.json").exists()
    assert capsys.readouterr().out.splitlines()[0] == (
        f"destroying 2 stack(s) of 'sandbox' in {ACCOUNT}/{REGION}: MlDataLake-sandbox-Core, MlDataLake-sandbox-Storage"
    )


def test_forced_prod_lists_what_stays_behind_lifts_protection_and_still_asks(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given prod's deployed stacks, protected, with retained resources
    account.stacks("prod", "Core", "Storage", protected=True)
    account.template(
        "MlDataLake-prod-Core",
        {"LakeKey": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain"}, "Topic": {"Type": "AWS::SNS::Topic"}},
        {"LakeKey": "1234abcd-12ab-34cd-56ef-1234567890ab", "Topic": "arn:aws:sns:::t"},
    )
    account.template(
        "MlDataLake-prod-Storage",
        {
            "RawZoneBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
            "Policy": {"Type": "AWS::S3::BucketPolicy", "DeletionPolicy": "Delete"},
        },
        {"RawZoneBucket": f"ml-data-lake-prod-raw-{ACCOUNT}-{REGION}-an", "Policy": "p"},
    )
    account.unprotect("MlDataLake-prod-Core")
    account.unprotect("MlDataLake-prod-Storage")

    # When make destroy runs with FORCE=prod
    status = account.main("--env", "prod", "--force", "prod")

    # Then the retained resources are listed before anything is deleted
    assert status == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:5] == [
        "These resources are retained and stay in the account after their stacks are deleted; delete them by",
        "hand (emptying buckets first) only when their data is no longer needed:",
        "  AWS::KMS::Key    1234abcd-12ab-34cd-56ef-1234567890ab  (MlDataLake-prod-Core/LakeKey)",
        f"  AWS::S3::Bucket  ml-data-lake-prod-raw-{ACCOUNT}-{REGION}-an  (MlDataLake-prod-Storage/RawZoneBucket)",
    ]
    assert out[5:7] == [
        "turning termination protection off for MlDataLake-prod-Core",
        "turning termination protection off for MlDataLake-prod-Storage",
    ]
    # And cdk destroy still asks before deleting (no --force)
    assert account.ran == [[CDK[0], "destroy", *CDK[1:], "--all", "-c", "env=prod"]]


def test_nothing_deployed_is_nothing_to_destroy(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    account.stacks("sandbox", protected=False)
    assert account.main("--env", "sandbox") == 0
    assert account.ran == []
    assert capsys.readouterr().out.splitlines() == [
        f"nothing to destroy: no stack named MlDataLake-sandbox-* in {ACCOUNT}/{REGION}"
    ]
