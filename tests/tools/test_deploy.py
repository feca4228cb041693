"""`make deploy` / `make diff`: each preflight check's one-line message, and the CDK commands it runs.

The AWS calls are answered by botocore's Stubber (each request checked against the service model); the CDK CLI is
a recording stand-in, so nothing here reaches an account or deploys anything.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.config import load_environment
from tools import deploy

REGION = "eu-west-1"
ACCOUNT = "111111111111"
ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/someone"
CDK = ["node_modules/.bin/cdk", "--no-notices", "--no-version-reporting"]
PROG = "python -m tools.deploy"
# What the Makefile passes after `--`: the CDK CLI and its flags.
CLI = ["--", *CDK]
ENVIRON = {"AWS_REGION": REGION, "PATH": "/usr/bin"}


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials, profile, config or instance metadata reachable: a stray call cannot reach an account."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)


@dataclass
class Account:
    """Stubbed STS, SSM and CloudFormation clients, and what the CDK CLI was asked to do."""

    stubs: dict[str, Stubber]
    clients: dict[str, Any]
    ran: list[list[str]] = field(default_factory=list)
    executed: list[tuple[list[str], Mapping[str, str]]] = field(default_factory=list)
    manifest_requires: int = 6

    def factory(self, service: str, region: str) -> Any:
        assert region == REGION
        return self.clients[service]

    def identity(self, account: str = ACCOUNT) -> None:
        self.stubs["sts"].add_response("get_caller_identity", {"Account": account, "Arn": ARN, "UserId": "AROA:x"}, {})

    def bootstrap_version(self, version: int) -> None:
        self.stubs["ssm"].add_response(
            "get_parameter",
            {"Parameter": {"Name": deploy.BOOTSTRAP_VERSION_PARAMETER, "Type": "String", "Value": str(version)}},
            {"Name": deploy.BOOTSTRAP_VERSION_PARAMETER},
        )

    def run(self, command: list[str], **_: Any) -> subprocess.CompletedProcess[bytes]:
        """`cdk synth`: writes an assembly manifest that requires `manifest_requires`."""
        self.ran.append(command)
        assembly = Path(command[command.index("--output") + 1])
        assembly.mkdir(parents=True, exist_ok=True)
        artifact = {"type": "aws:cloudformation:stack", "properties": {"requiresBootstrapStackVersion": 6}}
        assets = {"type": "cdk:asset-manifest", "properties": {"requiresBootstrapStackVersion": self.manifest_requires}}
        (assembly / "manifest.json").write_text(
            json.dumps({"artifacts": {"MlDataLake-sandbox-Core": artifact, "MlDataLake-sandbox-Core.assets": assets}})
        )
        return subprocess.CompletedProcess(command, 0)

    def execute(self, file: str, command: list[str], env: Mapping[str, str]) -> None:
        assert file == command[0]
        self.executed.append((command, env))

    flink_artifact: Path | None = None

    def main(self, *argv: str, environ: Mapping[str, str] = ENVIRON) -> int:
        return deploy.main(
            list(argv),
            clients=self.factory,
            profile_region=None,
            environ=environ,
            run=self.run,
            execute=self.execute,
            flink_artifact=self.flink_artifact,
        )


@pytest.fixture
def account() -> Iterator[Account]:
    """An account whose answers each test scripts; every scripted answer must be used."""
    clients = {
        service: boto3.client(service, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")  # noqa: S106 - fake
        for service in ("sts", "ssm", "cloudformation")
    }
    stubs = {service: Stubber(client) for service, client in clients.items()}
    for stub in stubs.values():
        stub.activate()
    yield Account(stubs=stubs, clients=clients)
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def _error(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


# --- The happy paths --------------------------------------------------------------------------------------------


def test_sandbox_is_synthesized_then_deployed_without_approval_prompts(
    account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Given credentials for an account bootstrapped at version 28
    account.identity()
    account.bootstrap_version(28)

    # When make deploy runs for the sandbox
    status = account.main("--env", "sandbox", *CLI)

    # Then it synthesizes the environment, then deploys every stack of that assembly, writing the outputs file
    assert status == 0
    assert account.ran == [[CDK[0], "synth", *CDK[1:], "--quiet", "-c", "env=sandbox", "--output", "cdk.out"]]
    [(command, env)] = account.executed
    assert command == [
        CDK[0],
        "deploy",
        *CDK[1:],
        "--app",
        "cdk.out",
        "--all",
        "-c",
        "env=sandbox",
        "--outputs-file",
        "outputs/sandbox.json",
        "--require-approval",
        "never",
    ]
    # And the CLI acts on the region that was checked
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"], env["PATH"]) == (REGION, REGION, "/usr/bin")
    assert (tmp_path / "outputs").is_dir()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"sandbox: {ACCOUNT}/{REGION} as {ARN}, bootstrap version 28"


def _built_flink_application(folder: Path, *, with_connectors: bool) -> Path:
    (folder / "lib").mkdir(parents=True)
    (folder / "main.py").write_text("")
    if with_connectors:
        (folder / deploy.FLINK_CONNECTORS).write_bytes(b"PK")
    return folder


def test_prod_deploys_with_approval_of_broadening_changes_once_confirmed(account: Account, tmp_path: Path) -> None:
    account.flink_artifact = _built_flink_application(tmp_path / "flink", with_connectors=True)
    account.identity()
    account.bootstrap_version(28)

    status = account.main("--env", "prod", "--confirm", "prod", *CLI)

    assert status == 0
    [(command, _)] = account.executed
    assert command[-2:] == ["--require-approval", "broadening"]
    assert command[command.index("--outputs-file") + 1] == "outputs/prod.json"


def test_diff_checks_the_credentials_then_runs_cdk_diff_without_needing_a_bootstrap(account: Account) -> None:
    account.identity()

    status = account.main("--env", "prod", "--diff", *CLI)

    assert status == 0
    assert account.ran == []
    [(command, _)] = account.executed
    assert command == [CDK[0], "diff", *CDK[1:], "--all", "-c", "env=prod"]


# --- Each check, one line each ----------------------------------------------------------------------------------


def test_an_analytics_application_without_its_connector_jar_is_refused_before_any_aws_call(
    account: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given prod (analytics on) and a Flink build without the connectors Maven could not resolve
    account.flink_artifact = _built_flink_application(tmp_path / "stream_analytics", with_connectors=False)
    # When it is deployed (no scripted AWS answer: any call would fail the fixture)
    status = account.main("--env", "prod", "--confirm", "prod", *CLI)
    # Then one line says what is missing and what to run, and nothing is deployed
    assert status == 2
    assert _error(capsys) == [
        f"{PROG}: error: environment 'prod' has analytics.enabled, and stream_analytics/lib/"
        "stream-analytics-connectors.jar was not built (Maven could not resolve the Kinesis and Firehose "
        "connectors): run `make flink-artifact FLINK_JAR=required` where Maven Central serves them, or set "
        "analytics.enabled to false"
    ]
    assert account.executed == []


def test_prod_without_confirmation_is_refused_before_any_aws_call(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given no confirmation (and no scripted AWS answer: any call would fail the fixture)
    status = account.main("--env", "prod", *CLI)

    assert status == 2
    assert _error(capsys) == [
        f"{PROG}: error: environment 'prod' keeps its data (removal_policy = retain, termination protection on): "
        "confirm the deploy with `make deploy ENV=prod CONFIRM=prod`"
    ]
    assert account.executed == []


def test_a_confirmation_for_another_environment_does_not_count(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    assert account.main("--env", "prod", "--confirm", "sandbox", *CLI) == 2
    assert "CONFIRM=prod" in _error(capsys)[0]


def test_no_credentials_says_to_configure_sso(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a real STS client that finds no credentials anywhere (environment, files, metadata all cleared)
    sts = boto3.client("sts", region_name=REGION)

    status = deploy.main(
        ["--env", "sandbox", *CLI],
        clients=lambda service, region: sts,
        profile_region=None,
        environ=ENVIRON,
        run=_must_not_run,
        execute=_must_not_run,
    )

    assert status == 2
    assert _error(capsys) == [
        f"{PROG}: error: no AWS credentials found: run `aws configure sso` once (then `export AWS_PROFILE=<the "
        "profile>`), or `aws sso login` if the profile exists"
    ]


def test_expired_credentials_say_to_log_in_again_with_the_profile(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.stubs["sts"].add_client_error("get_caller_identity", "ExpiredToken", "The security token has expired.")

    status = account.main("--env", "sandbox", *CLI, environ={**ENVIRON, "AWS_PROFILE": "lake-sandbox"})

    assert status == 2
    assert _error(capsys) == [
        f"{PROG}: error: the AWS credentials have expired (ExpiredToken): run `aws sso login --profile lake-sandbox`"
    ]


def test_refused_credentials_say_to_configure_them(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    account.stubs["sts"].add_client_error("get_caller_identity", "InvalidClientTokenId", "The token is invalid.")
    assert account.main("--env", "sandbox", *CLI) == 2
    assert _error(capsys) == [
        f"{PROG}: error: the AWS credentials were refused (InvalidClientTokenId): run `aws configure sso`, or check "
        "AWS_ACCESS_KEY_ID"
    ]


def test_no_region_anywhere_says_where_to_set_one(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    assert account.main("--env", "sandbox", *CLI, environ={"PATH": "/usr/bin"}) == 2
    assert _error(capsys) == [
        f"{PROG}: error: no AWS region for 'sandbox': set `region` (with `account` and "
        "`network.availability_zones`) in its block of cdk.json, or run `export AWS_REGION=eu-west-1` "
        "(or `aws configure set region eu-west-1`)"
    ]


def test_an_account_that_is_not_bootstrapped_says_to_bootstrap_it(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.identity()
    account.stubs["ssm"].add_client_error("get_parameter", "ParameterNotFound", "no such parameter")

    assert account.main("--env", "sandbox", *CLI) == 2
    assert _error(capsys) == [
        f"{PROG}: error: account {ACCOUNT} is not bootstrapped for the CDK in {REGION}: "
        f"run `npx cdk bootstrap aws://{ACCOUNT}/{REGION}`"
    ]
    assert account.ran == []


def test_without_ssm_access_the_bootstrap_stack_is_asked_instead(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a deployer that may not read SSM, in an account without the CDKToolkit stack
    account.identity()
    account.stubs["ssm"].add_client_error("get_parameter", "AccessDeniedException", "not allowed")
    account.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist"
    )

    assert account.main("--env", "sandbox", *CLI) == 2
    assert _error(capsys)[0].endswith(f"run `npx cdk bootstrap aws://{ACCOUNT}/{REGION}`")


def test_the_bootstrap_stack_output_gives_the_version_when_ssm_cannot(account: Account) -> None:
    account.stubs["ssm"].add_client_error("get_parameter", "AccessDeniedException", "not allowed")
    account.stubs["cloudformation"].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "CDKToolkit",
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": [{"OutputKey": "BootstrapVersion", "OutputValue": "21"}],
                }
            ]
        },
        {"StackName": "CDKToolkit"},
    )
    assert deploy.deployed_bootstrap_version(account.clients["ssm"], account.clients["cloudformation"]) == 21


def test_a_bootstrap_older_than_the_templates_need_says_to_upgrade_it(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a bootstrap at version 5 and templates that need 6
    account.identity()
    account.bootstrap_version(5)

    # When make deploy runs
    assert account.main("--env", "sandbox", *CLI) == 2

    # Then it synthesized, found out, and deployed nothing
    assert _error(capsys) == [
        f"{PROG}: error: the CDK bootstrap of {ACCOUNT}/{REGION} is version 5, these templates need 6: "
        f"run `npx cdk bootstrap aws://{ACCOUNT}/{REGION}` to upgrade it"
    ]
    assert len(account.ran) == 1
    assert account.executed == []


def test_a_failed_synthesis_deploys_nothing(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    account.identity()
    account.bootstrap_version(28)

    def failing(command: list[str], **_: Any) -> subprocess.CompletedProcess[bytes]:
        return subprocess.CompletedProcess(command, 3)

    status = deploy.main(
        ["--env", "sandbox", *CLI],
        clients=account.factory,
        profile_region=None,
        environ=ENVIRON,
        run=failing,
        execute=account.execute,
    )
    assert status == 3
    assert _error(capsys) == [f"{PROG}: error: synthesis failed (exit 3); nothing was deployed"]
    assert account.executed == []


def test_an_unknown_environment_is_one_line(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    assert account.main("--env", "staging", *CLI) == 2
    assert _error(capsys) == [
        f"{PROG}: error: unknown environment 'staging' (from -c env=...); known environments: prod, sandbox"
    ]


# --- The pieces -------------------------------------------------------------------------------------------------


def test_credentials_of_another_account_than_the_pinned_one_are_refused(account: Account) -> None:
    settings = load_environment(
        {
            "pinned": {
                "account": "222222222222",
                "region": REGION,
                "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]},
            }
        },
        "pinned",
    )
    account.identity(ACCOUNT)
    with pytest.raises(deploy.PreflightError, match=r"credentials are for account 111111111111, but .* 222222222222"):
        deploy.check_credentials(account.clients["sts"], settings, {})


def test_the_region_of_the_settings_wins_over_the_environment() -> None:
    settings = load_environment(
        {
            "pinned": {
                "account": ACCOUNT,
                "region": "us-east-1",
                "network": {"availability_zones": ["us-east-1a", "us-east-1b"]},
            }
        },
        "pinned",
    )
    assert deploy.resolve_region(settings, {"AWS_REGION": REGION}, "ap-south-1") == "us-east-1"
    unpinned = load_environment({"x": {}}, "x")
    assert deploy.resolve_region(unpinned, {"AWS_DEFAULT_REGION": "eu-north-1"}, "ap-south-1") == "eu-north-1"
    assert deploy.resolve_region(unpinned, {}, "ap-south-1") == "ap-south-1"


def test_the_required_bootstrap_version_is_the_highest_in_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(
        json.dumps(
            {
                "artifacts": {
                    "A": {"properties": {"requiresBootstrapStackVersion": 6}},
                    "B": {"properties": {"requiresBootstrapStackVersion": 21}},
                    "Tree": {"type": "cdk:tree"},
                }
            }
        )
    )
    assert deploy.required_bootstrap_version(tmp_path) == 21


def _must_not_run(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError(f"the CDK CLI must not run here: {args}")
