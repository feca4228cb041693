"""The ML unit in the cloud: the model registry, the processing job's step, its network, its permissions."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.config import ConfigError, load_environment
from infra.constructs.ml_processing import ENI_ACTIONS, RESULTS_PREFIX
from infra.constructs.ml_training_step import REGISTRY_FIELDS, job_name_expression, launcher
from infra.constructs.sklearn_image import REGISTRY_ACCOUNTS, TAG
from tests.infra.test_workflow_definition import ACCOUNT, KEY, OTHER_STACKS, REGION, definition_of
from tests.synth import Synthesized

ENVS = ["sandbox", "prod"]
JOB_STATES = ("NameAnalysisJob", "RunAnalysisJob", "ReadAnalysisMetrics", "HasRegistryEntry", "RegisterModel")


def _lake_key(env: str) -> object:
    return {
        "Fn::GetStackOutput": Match.object_like(
            {"StackName": f"MlDataLake-{env}-Core", "OutputName": Match.string_like_regexp("LakeKey.*Arn")}
        )
    }


def _branch(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """The states of the workflow's branch after the curated crawl (the ML step)."""
    (branch,) = definition_of(synth)["States"]["AfterCuratedCrawl"]["Branches"]
    return dict(branch["States"])


@pytest.fixture(scope="module")
def branch(sandbox: Synthesized) -> dict[str, dict[str, Any]]:
    return _branch(sandbox)


def _statements(synth: Synthesized, unit: str, path_part: str) -> list[dict[str, Any]]:
    """The statements of the managed policies whose logical ID contains `path_part`."""
    policies = synth.template(unit).find_resources("AWS::IAM::ManagedPolicy")
    found = [p for logical_id, p in policies.items() if path_part in logical_id]
    assert found, f"no managed policy like {path_part} in {unit}"
    return [s for p in found for s in p["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


# --- The registry table ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_the_registry_is_on_demand_with_recovery_under_the_lake_key(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    template = synthesized[env].template("Ml")
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": _lake_key(env)},
            "KeySchema": [
                {"AttributeName": "model_name", "KeyType": "HASH"},
                {"AttributeName": "run_id", "KeyType": "RANGE"},
            ],
        },
    )


def test_prod_protects_and_retains_the_registry_sandbox_deletes_it(prod: Synthesized, sandbox: Synthesized) -> None:
    (kept,) = prod.template("Ml").find_resources("AWS::DynamoDB::Table").values()
    assert kept["Properties"]["DeletionProtectionEnabled"] is True
    assert (kept["DeletionPolicy"], kept["UpdateReplacePolicy"]) == ("Retain", "Retain")
    (dropped,) = sandbox.template("Ml").find_resources("AWS::DynamoDB::Table").values()
    assert dropped["Properties"]["DeletionProtectionEnabled"] is False
    assert dropped["DeletionPolicy"] == "Delete"


# --- The processing job's state ----------------------------------------------------------------------------------


def test_the_ml_step_runs_after_the_curated_crawl_in_order(branch: dict[str, dict[str, Any]]) -> None:
    assert set(branch) == {*JOB_STATES, "MetricsWithoutRegistry"}
    for state, following in itertools.pairwise(JOB_STATES[:4]):
        assert branch[state]["Next"] == following
    assert branch["RegisterModel"]["End"] is True


@pytest.mark.parametrize("env", ENVS)
def test_the_job_runs_the_prebuilt_image_synchronously_with_its_settings(
    synthesized: dict[str, Synthesized], env: str
) -> None:
    synth = synthesized[env]
    job = _branch(synth)["RunAnalysisJob"]
    settings = synth.settings.ml
    assert job["Resource"] == "arn:aws:states:::sagemaker:createProcessingJob.sync"
    params = job["Parameters"]
    assert params["AppSpecification"]["ImageUri"] == (
        f"{REGISTRY_ACCOUNTS[REGION]}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:{TAG}"
    )
    assert params["AppSpecification"]["ContainerEntrypoint"][:2] == ["/bin/sh", "-c"]
    assert params["RoleArn"] == OTHER_STACKS["ConsumersRole"]
    assert params["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": settings.instance_type,
        "VolumeSizeInGB": settings.volume_size_gb,
        "VolumeKmsKeyId": KEY,
    }
    assert params["StoppingCondition"] == {"MaxRuntimeInSeconds": settings.max_runtime_minutes * 60}
    assert {"Key": "Environment", "Value": env} in params["Tags"]
    # The model (and so the registry item) exists only with a target: by default the lake's own label
    arguments = params["AppSpecification"]["ContainerArguments"]
    assert arguments[arguments.index("--target") + 1] == settings.target == "error_within_1h"


def test_the_job_reads_the_curated_events_code_and_wheels_and_writes_under_the_lake_key(
    branch: dict[str, dict[str, Any]],
) -> None:
    params = branch["RunAnalysisJob"]["Parameters"]
    inputs = {i["InputName"]: i["S3Input"] for i in params["ProcessingInputs"]}
    assert inputs["curated"]["S3Uri"] == f"s3://ml-data-lake-sandbox-curated-{ACCOUNT}-{REGION}-an/events/"
    assert {name: i["LocalPath"] for name, i in inputs.items()} == {
        "curated": "/opt/ml/processing/input/curated",
        "code": "/opt/ml/processing/input/code",
        "wheels": "/opt/ml/processing/input/wheels",
    }
    for name in ("code", "wheels"):
        assert re.fullmatch(rf"s3://cdk-hnb659fds-assets-{ACCOUNT}-{REGION}/[0-9a-f]{{64}}\.zip", inputs[name]["S3Uri"])
    output = params["ProcessingOutputConfig"]
    assert output["KmsKeyId"] == KEY
    (report,) = output["Outputs"]
    assert report["S3Output"]["LocalPath"] == "/opt/ml/processing/output"
    results = f"s3://ml-data-lake-sandbox-results-{ACCOUNT}-{REGION}-an/{RESULTS_PREFIX}"
    assert report["S3Output"]["S3Uri.$"] == f"States.Format('{results}{{}}/', $.analysis.jobName)"


def test_the_job_runs_network_isolated_in_the_isolated_subnets(branch: dict[str, dict[str, Any]]) -> None:
    network = branch["RunAnalysisJob"]["Parameters"]["NetworkConfig"]
    assert network["EnableNetworkIsolation"] is True
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert network["VpcConfig"] == {
        "SecurityGroupIds": [OTHER_STACKS["ProcessingJobSecurityGroup"]],
        "Subnets": [OTHER_STACKS["IsolatedSubnet1"], OTHER_STACKS["IsolatedSubnet2"]],
    }


def test_the_job_security_group_lets_nothing_in_and_only_https_out(sandbox: Synthesized) -> None:
    (group,) = sandbox.template("Ml").find_resources("AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    (egress,) = group["Properties"]["SecurityGroupEgress"]
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)


def test_the_s3_endpoint_policy_admits_what_the_job_moves(sandbox: Synthesized) -> None:
    # Given the endpoint policy (inputs and outputs of a job in a VPC move through the VPC's S3 endpoint)
    (endpoint,) = sandbox.template("Network").find_resources("AWS::EC2::VPCEndpoint").values()
    text = json.dumps(endpoint["Properties"]["PolicyDocument"])
    # Then it lets the lake's zones be read and written, and the CDK assets (code, wheels) be read
    for bucket in ("curated", "results"):
        assert f"ml-data-lake-sandbox-{bucket}-" in text
    assert "cdk-hnb659fds-assets-" in text
    statements = endpoint["Properties"]["PolicyDocument"]["Statement"]
    lake = next(s for s in statements if s["Sid"] == "AllowTheLakeBuckets")
    assert {"s3:GetObject*", "s3:PutObject*", "s3:ListBucket*"} <= set(lake["Action"])


def test_the_job_name_fits_sagemaker_for_the_longest_environment() -> None:
    # Given the longest environment name settings accept (11 characters)
    expression = job_name_expression("ml-data-lake-abcdefghijk")
    # When Step Functions fills in the MD5 digest (32 hex digits)
    prefix = re.match(r"States.Format\('([^']*)\{\}'", expression)
    assert prefix is not None
    name = prefix.group(1) + "0123456789abcdef" * 2
    # Then the job name is a valid SageMaker name
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name), name
    assert "$$.Execution.Id" in expression
    assert "'MD5'" in expression
    with pytest.raises(ValueError, match="63-character"):
        job_name_expression("x" * 30)


# --- The registry write ------------------------------------------------------------------------------------------


def test_metrics_are_read_from_the_run_folder_and_parsed(branch: dict[str, dict[str, Any]]) -> None:
    read = branch["ReadAnalysisMetrics"]
    assert read["Resource"] == "arn:aws:states:::aws-sdk:s3:getObject"
    assert read["Parameters"]["Bucket"] == f"ml-data-lake-sandbox-results-{ACCOUNT}-{REGION}-an"
    assert read["Parameters"]["Key.$"] == f"States.Format('{RESULTS_PREFIX}{{}}/metrics.json', $.analysis.jobName)"
    assert read["ResultSelector"] == {"document.$": "States.StringToJson($.Body)"}


def test_only_a_complete_registry_entry_is_written(branch: dict[str, dict[str, Any]]) -> None:
    choice = branch["HasRegistryEntry"]
    (rule,) = choice["Choices"]
    checked = {c["Variable"].rsplit(".", 1)[-1] for c in rule["And"] if c.get("IsPresent") is True}
    assert checked == set(REGISTRY_FIELDS)
    assert rule["Next"] == "RegisterModel"
    missing = branch[choice["Default"]]
    assert (missing["Type"], missing["Error"]) == ("Fail", "MetricsWithoutRegistry")


def test_the_registry_item_has_the_model_window_metrics_artifact_and_features(
    branch: dict[str, dict[str, Any]],
) -> None:
    put = branch["RegisterModel"]
    assert put["Resource"] == "arn:aws:states:::dynamodb:putItem"
    assert put["Parameters"]["TableName"] == OTHER_STACKS["ModelRegistryTable"]
    item = put["Parameters"]["Item"]
    for field in ("model_name", "run_id", "model_version", "training_start", "training_end", "artifact", "report"):
        assert "S.$" in item[field], field
    assert item["metrics"]["S.$"] == "States.JsonToString($.analysis.metrics.document.registry.metrics)"
    assert item["features"]["S.$"] == "States.JsonToString($.analysis.metrics.document.registry.features)"
    assert "States.ArrayLength($.analysis.metrics.document.registry.features)" in item["feature_count"]["N.$"]
    assert "$$.Execution.StartTime" in item["run_id"]["S.$"]


def test_a_failed_job_writes_nothing_and_alerts(sandbox: Synthesized, branch: dict[str, dict[str, Any]]) -> None:
    # Given the job state, which has no catch of its own
    assert "Catch" not in branch["RunAnalysisJob"]
    # When it fails, the whole branch fails before RegisterModel, and the Parallel state catches it
    states = definition_of(sandbox)["States"]
    catch_all = next(c for c in states["AfterCuratedCrawl"]["Catch"] if c["ErrorEquals"] == ["States.ALL"])
    record = states[catch_all["Next"]]
    # Then the failure is recorded, the alert topic told and the execution fails
    assert record["Parameters"]["State"] == "AfterCuratedCrawl"
    assert record["Next"] == "NotifyFailure"
    assert states["AfterCuratedCrawl"]["Next"] == "Succeeded"


# --- Permissions -------------------------------------------------------------------------------------------------


def test_the_workflow_passes_only_the_job_role_and_only_to_sagemaker(sandbox: Synthesized) -> None:
    statements = _statements(sandbox, "Processing", "WorkflowRolePolicy")
    (pass_role,) = [s for s in statements if "iam:PassRole" in _actions(s)]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert "ConsumersRole" in json.dumps(pass_role["Resource"])
    (jobs,) = [s for s in statements if "sagemaker:CreateProcessingJob" in _actions(s)]
    assert "processing-job/ml-data-lake-sandbox-eda-*" in json.dumps(jobs["Resource"])
    (rule,) = [s for s in statements if "events:PutRule" in _actions(s)]
    assert json.dumps(rule["Resource"]).endswith('rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule"]]}')
    (put,) = [s for s in statements if "dynamodb:PutItem" in _actions(s)]
    assert "ModelRegistryTable" in json.dumps(put["Resource"])


def test_the_job_role_policy_has_no_wildcard_action_and_star_only_where_acknowledged(sandbox: Synthesized) -> None:
    statements = _statements(sandbox, "Ml", "ProcessingJobPolicy")
    assert all("*" not in action for s in statements for action in _actions(s))
    # "*" resources: ECR login, metrics (limited to SageMaker namespaces) and the ENIs of VPC mode, nothing else
    star = {a for s in statements if s["Resource"] == "*" for a in _actions(s)}
    assert star == {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData", *ENI_ACTIONS}
    metrics = next(s for s in statements if "cloudwatch:PutMetricData" in _actions(s))
    assert metrics["Condition"] == {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}}
    grant = next(s for s in statements if "kms:CreateGrant" in _actions(s))
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    # and it is attached to the ML consumer role, the one the curated zone admits through the S3 endpoint only
    (policy,) = [
        p for i, p in sandbox.template("Ml").find_resources("AWS::IAM::ManagedPolicy").items() if "ProcessingJob" in i
    ]
    assert "ConsumersRole" in json.dumps(policy["Properties"]["Roles"])


def test_the_job_role_reads_exactly_the_two_assets_and_writes_only_under_the_results_prefix(
    sandbox: Synthesized,
) -> None:
    statements = {s.get("Sid"): s for s in _statements(sandbox, "Ml", "ProcessingJobPolicy")}
    reads = json.dumps(statements["ReadCodeAndWheels"]["Resource"])
    assert len(re.findall(r"/[0-9a-f]{64}\.zip", reads)) == 2
    assert json.dumps(statements["WriteResults"]["Resource"]).endswith(f'"/{RESULTS_PREFIX}*"]]}}')


# --- Settings ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ml", "message"),
    [
        (
            {"instance_type": "ml.p3.2xlarge"},
            "environments.x.ml.instance_type: got 'ml.p3.2xlarge'; use a CPU processing instance type",
        ),
        ({"volume_size_gb": 0}, "environments.x.ml.volume_size_gb = 0: input should be greater than or equal to 1"),
        ({"target": "a b"}, "environments.x.ml.target: got 'a b'; a column name here has 1 to 128 letters"),
        ({"enabeld": False}, "environments.x.ml.enabeld: unknown setting (a typo?); did you mean 'enabled'?"),
    ],
)
def test_a_bad_ml_setting_is_one_line_naming_it(ml: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_environment({"x": {"ml": ml}}, "x")
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_disabled_there_is_no_ml_stack_and_no_ml_step(bare: Synthesized) -> None:
    # Given an environment that turns the ML unit off, when its stacks are built
    lake = bare.lake
    # Then there is no Ml stack, no ML step and the workflow ends after the curated crawl
    assert lake.ml is None
    assert lake.processing.ml_step is None
    assert lake.processing.workflow.node.try_find_child("AfterCuratedCrawl") is None
    assert "Ml" not in [s.stack_name.rsplit("-", 1)[-1] for s in lake.stacks]


# --- The container's launcher ------------------------------------------------------------------------------------


def test_the_launcher_unpacks_the_code_and_runs_the_analysis_with_the_arguments(tmp_path: Path) -> None:
    # Given the job's inputs as SageMaker lays them out: the code and wheels zips (no wheels shipped) and data
    root, work = tmp_path / "processing", tmp_path / "scratch"
    for folder in ("input/code", "input/wheels", "input/curated", "output"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(root / "input/code/code.zip", "w") as code:
        code.writestr("__init__.py", "")
        code.writestr("eda/__init__.py", "")
        code.writestr(
            "eda/__main__.py",
            "import json, sys\n"
            "out = sys.argv[sys.argv.index('--out') + 1]\n"
            "open(out + '/metrics.json', 'w').write(json.dumps({'argv': sys.argv[1:]}))\n",
        )
    with zipfile.ZipFile(root / "input/wheels/wheels.zip", "w") as wheels:
        wheels.writestr("README.txt", "no wheels")
    # When the container runs the launcher with the settings' arguments
    command = launcher(root=str(root), work=str(work)).replace("python3 ", f"{sys.executable} ")
    result = subprocess.run(  # noqa: S603 - fixed argv
        ["/bin/sh", "-c", command, "ml-eda", "--target", "status"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # Then the analysis ran on the curated folder, wrote to the output folder, and the missing wheels were named
    assert result.returncode == 0, result.stderr
    argv = json.loads((root / "output/metrics.json").read_text())["argv"]
    assert argv == ["--input", f"{root}/input/curated", "--out", f"{root}/output", "--target", "status"]
    assert "no wheels were shipped" in result.stderr
