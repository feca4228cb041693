"""`make deploy` and `make diff`: check the account is ready, then hand over to the CDK CLI.

    python -m tools.deploy --env sandbox -- node_modules/.bin/cdk --no-notices --no-version-reporting
    python -m tools.deploy --env prod --confirm prod -- node_modules/.bin/cdk ...
    python -m tools.deploy --env sandbox --diff -- node_modules/.bin/cdk ...

Before anything is deployed it checks, in this order, and stops at the first problem with one line that says
exactly what to run: the environment's settings; that an environment which keeps its data (prod) was confirmed
with ``--confirm <env>``; the region (from the settings, else AWS_REGION / AWS_DEFAULT_REGION / the profile);
the credentials (``sts get-caller-identity``, and the account the settings name, if any); that the account and
region are bootstrapped for the CDK (SSM parameter ``/cdk-bootstrap/hnb659fds/version``, else the ``CDKToolkit``
stack) at least at the version the synthesized templates require. It then deploys every stack in dependency
order from the assembly it just synthesized, writing the stack outputs to ``outputs/<env>.json``, which
``make smoke`` and ``python -m tools.producer`` read. ``--require-approval`` is ``never`` for an environment that
destroys its data (sandbox) and ``broadening`` for one that keeps it: security-widening changes wait for a "y".

The AWS calls go through clients passed in, so the tests stub them; nothing here runs at import time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import (  # type: ignore[import-untyped, unused-ignore]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from infra.config import DEFAULT_ENVIRONMENT, ConfigError, EnvironmentSettings
from tools.stack_outputs import outputs_path

ROOT = Path(__file__).resolve().parent.parent
ASSEMBLY = Path("cdk.out")
# The CDK CLI this repository pins, with the Makefile's quiet flags; the Makefile passes its own after `--`.
DEFAULT_CDK = ("node_modules/.bin/cdk", "--no-notices", "--no-version-reporting")

# The default bootstrap: qualifier, the SSM parameter with its version, and its stack.
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"
BOOTSTRAP_STACK = "CDKToolkit"

# Error codes meaning "these credentials are no good any more" and "not allowed to read that".
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_INVALID = {"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "AuthFailure"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}

# A factory of boto3 clients: (service name, region) -> client. boto3 has no static types here, so clients are Any.
ClientFactory = Callable[[str, str], Any]


class PreflightError(Exception):
    """A check before deploying failed; the message is one line that ends with what to run."""


@dataclass(frozen=True)
class Identity:
    """Who the credentials belong to."""

    account: str
    arn: str


# --- Settings ---------------------------------------------------------------------------------------------------


def load_settings(env: str) -> EnvironmentSettings:
    """The validated settings of `env`, read as `cdk synth` reads them; a bad or unknown one is a PreflightError."""
    from infra.synthesis import load_settings as settings_of  # here: `--help` needs no CDK runtime

    try:
        return settings_of(env)
    except ConfigError as error:
        raise PreflightError(str(error)) from None


# The one file of the Flink application that Maven builds; without it the application cannot start.
FLINK_CONNECTORS = Path("lib") / "stream-analytics-connectors.jar"


def check_flink_artifact(settings: EnvironmentSettings, folder: Path) -> None:
    """Where `analytics.enabled`, the built application must hold its connector jar: a deploy without it would
    create an application that fails on its first start."""
    if settings.analytics.enabled and not (folder / FLINK_CONNECTORS).is_file():
        raise PreflightError(
            f"environment {settings.name!r} has analytics.enabled, and {folder.name}/{FLINK_CONNECTORS} was not "
            "built (Maven could not resolve the Kinesis and Firehose connectors): run `make flink-artifact "
            "FLINK_JAR=required` where Maven Central serves them, or set analytics.enabled to false"
        )


def keeps_data(settings: EnvironmentSettings) -> bool:
    """True for an environment whose stacks keep their data or are protected from deletion (prod)."""
    return settings.removal_policy == "retain" or settings.termination_protection


def approval_for(settings: EnvironmentSettings, confirm: str | None) -> str:
    """`--require-approval`: `never` where data is disposable, else `broadening`, and only once confirmed."""
    if not keeps_data(settings):
        return "never"
    if confirm != settings.name:
        reasons = []
        if settings.removal_policy == "retain":
            reasons.append("removal_policy = retain")
        if settings.termination_protection:
            reasons.append("termination protection on")
        raise PreflightError(
            f"environment {settings.name!r} keeps its data ({', '.join(reasons)}): confirm the deploy with "
            f"`make deploy ENV={settings.name} CONFIRM={settings.name}`"
        )
    return "broadening"


# --- Region and credentials -------------------------------------------------------------------------------------


def resolve_region(settings: EnvironmentSettings, environ: Mapping[str, str], profile_region: str | None) -> str:
    """The region to deploy to: the settings' own, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region."""
    for region in (settings.region, environ.get("AWS_REGION"), environ.get("AWS_DEFAULT_REGION"), profile_region):
        if region:
            return region
    raise PreflightError(
        f"no AWS region for {settings.name!r}: set `region` (with `account` and `network.availability_zones`) in its "
        "block of cdk.json, or run `export AWS_REGION=eu-west-1` (or `aws configure set region eu-west-1`)"
    )


def _profile_hint(environ: Mapping[str, str]) -> str:
    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    return f" --profile {profile}" if profile else ""


def check_credentials(sts: Any, settings: EnvironmentSettings, environ: Mapping[str, str]) -> Identity:
    """`sts get-caller-identity`; no, expired or invalid credentials, or another account than the settings', fail."""
    login = f"aws sso login{_profile_hint(environ)}"
    try:
        identity = sts.get_caller_identity()
    except NoCredentialsError:
        raise PreflightError(
            "no AWS credentials found: run `aws configure sso` once (then `export AWS_PROFILE=<the profile>`), "
            f"or `{login}` if the profile exists"
        ) from None
    except (SSOTokenLoadError, UnauthorizedSSOTokenError, TokenRetrievalError):
        raise PreflightError(f"the AWS SSO session has expired or was never started: run `{login}`") from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _EXPIRED:
            raise PreflightError(f"the AWS credentials have expired ({code}): run `{login}`") from None
        if code in _INVALID:
            raise PreflightError(
                f"the AWS credentials were refused ({code}): run `aws configure sso`, or check AWS_ACCESS_KEY_ID"
            ) from None
        raise PreflightError(f"sts get-caller-identity failed ({code}): {error}") from None
    except BotoCoreError as error:
        raise PreflightError(f"could not reach AWS to check the credentials: {error}") from None
    account, arn = str(identity["Account"]), str(identity["Arn"])
    if settings.account is not None and settings.account != account:
        raise PreflightError(
            f"the credentials are for account {account}, but environment {settings.name!r} is pinned to account "
            f"{settings.account}: switch profile (`export AWS_PROFILE=<a profile of {settings.account}>`)"
        )
    return Identity(account=account, arn=arn)


# --- Bootstrap --------------------------------------------------------------------------------------------------


def bootstrap_command(account: str, region: str) -> str:
    """What to run to bootstrap (or upgrade the bootstrap of) one account and region."""
    return f"npx cdk bootstrap aws://{account}/{region}"


def _code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def deployed_bootstrap_version(ssm: Any, cloudformation: Any) -> int | None:
    """The bootstrap version of the account and region, or None when it is not bootstrapped.

    The SSM parameter is what the templates themselves check; the CDKToolkit stack's output is the fallback for a
    deployer that may not read SSM.
    """
    try:
        return int(ssm.get_parameter(Name=BOOTSTRAP_VERSION_PARAMETER)["Parameter"]["Value"])
    except ClientError as error:
        if _code(error) == "ParameterNotFound":
            return None
        if _code(error) not in _DENIED:
            raise
    try:
        stacks = cloudformation.describe_stacks(StackName=BOOTSTRAP_STACK)["Stacks"]
    except ClientError as error:
        if _code(error) == "ValidationError" and "does not exist" in str(error):
            return None
        raise
    for output in stacks[0].get("Outputs", []):
        if output.get("OutputKey") == "BootstrapVersion":
            return int(output["OutputValue"])
    return None


def required_bootstrap_version(assembly: Path) -> int:
    """The highest bootstrap version any stack or asset manifest of a synthesized assembly requires."""
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    versions = [
        int(artifact["properties"]["requiresBootstrapStackVersion"])
        for artifact in manifest.get("artifacts", {}).values()
        if "requiresBootstrapStackVersion" in artifact.get("properties", {})
    ]
    return max(versions, default=0)


def check_bootstrap(ssm: Any, cloudformation: Any, identity: Identity, region: str) -> int:
    """The deployed bootstrap version; an error saying to bootstrap when there is none."""
    try:
        version = deployed_bootstrap_version(ssm, cloudformation)
    except ClientError as error:
        raise PreflightError(
            f"cannot read the CDK bootstrap version of {identity.account}/{region} ({_code(error)}): the deployer "
            f"needs ssm:GetParameter on {BOOTSTRAP_VERSION_PARAMETER} (see the README's deployer permissions)"
        ) from None
    if version is None:
        raise PreflightError(
            f"account {identity.account} is not bootstrapped for the CDK in {region}: "
            f"run `{bootstrap_command(identity.account, region)}`"
        )
    return version


def check_bootstrap_version(deployed: int, required: int, identity: Identity, region: str) -> None:
    """Stop when the bootstrap stack is older than the templates need."""
    if deployed < required:
        raise PreflightError(
            f"the CDK bootstrap of {identity.account}/{region} is version {deployed}, these templates need {required}: "
            f"run `{bootstrap_command(identity.account, region)}` to upgrade it"
        )


# --- Commands ---------------------------------------------------------------------------------------------------


def synth_command(cdk: Sequence[str], env: str, assembly: Path) -> list[str]:
    """Synthesize the environment into `assembly` (the nag packs run here too)."""
    return [cdk[0], "synth", *cdk[1:], "--quiet", "-c", f"env={env}", "--output", str(assembly)]


def deploy_command(cdk: Sequence[str], env: str, assembly: Path, approval: str) -> list[str]:
    """Deploy every stack of the synthesized assembly, in dependency order, and write their outputs."""
    return [
        cdk[0],
        "deploy",
        *cdk[1:],
        "--app",
        str(assembly),
        "--all",
        "-c",
        f"env={env}",
        "--outputs-file",
        str(outputs_path(env)),
        "--require-approval",
        approval,
    ]


def diff_command(cdk: Sequence[str], env: str) -> list[str]:
    """Compare every stack of the environment with what is deployed."""
    return [cdk[0], "diff", *cdk[1:], "--all", "-c", f"env={env}"]


def boto3_clients() -> tuple[ClientFactory, str | None]:
    """Clients from the default boto3 session (profile, SSO, environment), and the profile's region."""
    import boto3  # type: ignore[import-untyped, unused-ignore]

    session = boto3.Session()

    def client(service: str, region: str) -> Any:
        return session.client(service, region_name=region)

    return client, session.region_name


def build_parser(prog: str = "python -m tools.deploy") -> argparse.ArgumentParser:
    """The command line of `make deploy` / `make diff`."""
    parser = argparse.ArgumentParser(prog=prog, description="Check the account, then deploy (or diff) with the CDK.")
    parser.add_argument("--env", default=DEFAULT_ENVIRONMENT, help="environment from cdk.json (%(default)s)")
    parser.add_argument("--confirm", default="", help="the environment's name, required where it keeps its data")
    parser.add_argument("--diff", action="store_true", help="run `cdk diff` against the deployed stacks instead")
    parser.add_argument("--assembly", type=Path, default=ASSEMBLY, help="where to synthesize (%(default)s)")
    parser.add_argument("cdk", nargs="*", default=list(DEFAULT_CDK), help="the CDK CLI and its flags, after --")
    return parser


@dataclass(frozen=True)
class Target:
    """Where a command will act: the checked settings, region and identity."""

    settings: EnvironmentSettings
    region: str
    identity: Identity


def preflight_target(
    settings: EnvironmentSettings, *, clients: ClientFactory, profile_region: str | None, environ: Mapping[str, str]
) -> Target:
    """Region and credentials: what every command against an account checks first."""
    region = resolve_region(settings, environ, profile_region)
    identity = check_credentials(clients("sts", region), settings, environ)
    return Target(settings, region, identity)


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: ClientFactory | None = None,
    profile_region: str | None = None,
    environ: Mapping[str, str] | None = None,
    run: Callable[..., subprocess.CompletedProcess[bytes]] = subprocess.run,
    execute: Callable[[str, list[str], Mapping[str, str]], object] = os.execvpe,
    flink_artifact: Path | None = None,
) -> int:
    """Run the checks, then the CDK CLI (which replaces this process); returns 2 for a failed check."""
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    environ = dict(os.environ if environ is None else environ)
    if clients is None:
        clients, profile_region = boto3_clients()

    def fail(error: Exception) -> int:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2

    try:
        settings = load_settings(args.env)
        # Before any AWS call: an unconfirmed deploy of an environment that keeps its data goes nowhere.
        approval = "never" if args.diff else approval_for(settings, args.confirm or None)
        if not args.diff:
            from infra.synthesis import FLINK_ARTIFACT  # here: `--help` needs no CDK runtime

            check_flink_artifact(settings, flink_artifact or FLINK_ARTIFACT)
        target = preflight_target(settings, clients=clients, profile_region=profile_region, environ=environ)
        # `cdk diff` needs no bootstrap: against an account without one it shows every stack as new.
        deployed = None if args.diff else check_bootstrap(*_bootstrap_clients(clients, target), **_at(target))
    except PreflightError as error:
        return fail(error)
    bootstrap = "" if deployed is None else f", bootstrap version {deployed}"
    print(f"{args.env}: {target.identity.account}/{target.region} as {target.identity.arn}{bootstrap}", flush=True)
    # The CLI must act on the region that was checked, whatever the profile says.
    child_env = {**environ, "AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region}
    if args.diff:
        command = diff_command(args.cdk, args.env)
        print(" ".join(command), flush=True)
        execute(command[0], command, child_env)
        return 0

    synth = synth_command(args.cdk, args.env, args.assembly)
    print(" ".join(synth), flush=True)
    result = run(synth, env=child_env, check=False)
    if result.returncode != 0:
        print(f"{prog}: error: synthesis failed (exit {result.returncode}); nothing was deployed", file=sys.stderr)
        return int(result.returncode)
    try:
        assert deployed is not None
        check_bootstrap_version(deployed, required_bootstrap_version(args.assembly), **_at(target))
    except PreflightError as error:
        return fail(error)
    outputs_path(args.env).parent.mkdir(parents=True, exist_ok=True)
    command = deploy_command(args.cdk, args.env, args.assembly, approval)
    print(" ".join(command), flush=True)
    execute(command[0], command, child_env)
    return 0


def _bootstrap_clients(clients: ClientFactory, target: Target) -> tuple[Any, Any]:
    return clients("ssm", target.region), clients("cloudformation", target.region)


def _at(target: Target) -> dict[str, Any]:
    return {"identity": target.identity, "region": target.region}


if __name__ == "__main__":
    sys.exit(main())
