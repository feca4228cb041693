"""The workflow's ML step: the analysis as a SageMaker Processing job (.sync), then its model into the registry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.config import MlSettings
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.constructs.ml_processing import RESULTS_PREFIX, ProcessingJobResources
from infra.constructs.sklearn_image import image_uri

# The SageMaker Processing contract of ml_jobs/eda (CONTRACTS.md): where the container finds its inputs and
# leaves its output, which SageMaker uploads to the results zone when the job ends.
CONTAINER = "/opt/ml/processing"
CURATED_PATH = f"{CONTAINER}/input/curated"
CODE_PATH = f"{CONTAINER}/input/code"
WHEELS_PATH = f"{CONTAINER}/input/wheels"
OUTPUT_PATH = f"{CONTAINER}/output"
# The fields of metrics.json's `registry` object that every registry item needs.
REGISTRY_FIELDS = ("model_name", "model_version", "training_start", "training_end", "metrics", "features", "artifact")
# Where the step keeps what it knows in the execution's state.
STATE = "$.analysis"
REGISTRY = f"{STATE}.metrics.document.registry"
# The rule Step Functions manages to learn that a .sync processing job ended.
EVENTS_RULE = "StepFunctionsGetEventsForSageMakerProcessingJobsRule"
DYNAMODB_TRANSIENT = (
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
)


# The container's scratch space for the unpacked code and wheels (the instance's own disk, not the job's volume).
SCRATCH = "/tmp"  # noqa: S108 - a path inside the job's container, not on this machine


def launcher(root: str = CONTAINER, work: str = SCRATCH) -> str:
    """The container's entry point, a shell command line run by `/bin/sh -c`.

    It unpacks the code and the wheels (CDK ships folders as zip files), installs the wheels without network (the
    job is network-isolated), then runs the analysis on the curated data; "$@" are the settings' extra arguments.
    One line: Step Functions validators refuse a line break in a Task's parameters.
    """
    job, wheels = f"{work}/job", f"{work}/wheels"
    return "; ".join(
        (
            "set -eu",
            f"mkdir -p {job}/ml_jobs {wheels}",
            f'for archive in {root}/input/code/*.zip; do python3 -m zipfile -e "$archive" {job}/ml_jobs; done',
            f'for archive in {root}/input/wheels/*.zip; do python3 -m zipfile -e "$archive" {wheels}; done',
            f"if ls {wheels}/*.whl >/dev/null 2>&1; then"
            f" python3 -m pip install --quiet --no-index --find-links {wheels} {wheels}/*.whl;"
            ' else echo "no wheels were shipped with the job (run make ml-wheels before deploying)" >&2; fi',
            f"cd {job}",
            f'exec python3 -m ml_jobs.eda --input {root}/input/curated --out {root}/output "$@"',
        )
    )


def job_name_expression(name_prefix: str) -> str:
    """A processing job name unique to the execution, at most 63 characters of [a-zA-Z0-9-].

    Execution names may hold characters a job name may not, so the name is an MD5 (32 hex digits) of the
    execution's ARN and start time: the same for every retry within one execution, new for every execution.
    """
    if len(name_prefix) + len("-eda-") + 32 > 63:
        raise ValueError(f"name prefix {name_prefix!r} leaves no room for a 63-character processing job name")
    digest = "States.Hash(States.Format('{}/{}', $$.Execution.Id, $$.Execution.StartTime), 'MD5')"
    return f"States.Format('{name_prefix}-eda-{{}}', {digest})"


def _s3_input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _network_config(job: ProcessingJobResources) -> dict[str, Any]:
    """No network for the container; SageMaker moves inputs and outputs through the isolated subnets' S3 endpoint."""
    return {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {
            "SecurityGroupIds": [job.security_group.security_group_id],
            "Subnets": [subnet.subnet_id for subnet in job.subnets],
        },
    }


class MlTrainingStep(Construct):
    """Name the job → run it (.sync) → read its metrics.json → put one item in the model registry.

    `chain` goes into the workflow after the curated crawl; every error of it (a failed or stopped job, metrics
    without a registry entry) takes the workflow's failure path, so a failed run writes nothing and alerts.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name_prefix: str,
        job: ProcessingJobResources,
        curated_zone: s3.IBucket,
        curated_prefix: str,
        results_zone: s3.IBucket,
        key: kms.IKey,
        settings: MlSettings,
        tags: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id)
        self._job, self._name_prefix, self._results_zone = job, name_prefix, results_zone
        # Resolved in this stack (a mapping of its own when the region is unknown), not copied from the Ml stack's.
        self.image_uri = image_uri(self)
        name = sfn.Pass(
            self,
            "NameAnalysisJob",
            comment="A processing job name derived from this execution.",
            parameters={"jobName.$": job_name_expression(name_prefix)},
            result_path=STATE,
        )
        run = sfn.CustomState(
            self,
            "RunAnalysisJob",
            state_json=self._processing_job_state(curated_zone, curated_prefix, key, settings, tags),
        )
        self.chain = name.next(run).next(self._read_metrics()).next(self._register())

    def _processing_job_state(
        self,
        curated_zone: s3.IBucket,
        curated_prefix: str,
        key: kms.IKey,
        settings: MlSettings,
        tags: Mapping[str, str],
    ) -> dict[str, Any]:
        """The Task state of `sagemaker:createProcessingJob.sync` (aws-cdk-lib has no construct for it)."""
        job, results = self._job, self._results_zone
        arguments = ["--target", settings.target]
        arguments += ["--time", settings.time_column] if settings.time_column else []
        output = f"States.Format('s3://{results.bucket_name}/{RESULTS_PREFIX}{{}}/', {STATE}.jobName)"
        return {
            "Type": "Task",
            "Comment": "Run ml_jobs.eda on the curated zone in the VPC; wait for the job to end.",
            "Resource": f"arn:{Stack.of(self).partition}:states:::sagemaker:createProcessingJob.sync",
            "Parameters": {
                "ProcessingJobName.$": f"{STATE}.jobName",
                "RoleArn": job.role.role_arn,
                "AppSpecification": {
                    "ImageUri": self.image_uri,
                    "ContainerEntrypoint": ["/bin/sh", "-c", launcher(), "ml-eda"],
                    "ContainerArguments": arguments,
                },
                "Environment": {"MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"},
                "ProcessingResources": {
                    "ClusterConfig": {
                        "InstanceCount": 1,
                        "InstanceType": settings.instance_type,
                        "VolumeSizeInGB": settings.volume_size_gb,
                        "VolumeKmsKeyId": key.key_arn,
                    }
                },
                "ProcessingInputs": [
                    _s3_input("curated", f"s3://{curated_zone.bucket_name}/{curated_prefix}", CURATED_PATH),
                    _s3_input("code", job.code.s3_object_url, CODE_PATH),
                    _s3_input("wheels", job.wheels.s3_object_url, WHEELS_PATH),
                ],
                "ProcessingOutputConfig": {
                    "KmsKeyId": key.key_arn,
                    "Outputs": [
                        {
                            "OutputName": "report",
                            "S3Output": {"S3Uri.$": output, "LocalPath": OUTPUT_PATH, "S3UploadMode": "EndOfJob"},
                        }
                    ],
                },
                "NetworkConfig": _network_config(job),
                "StoppingCondition": {"MaxRuntimeInSeconds": settings.max_runtime_minutes * 60},
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            },
            "ResultSelector": {"ProcessingJobArn.$": "$.ProcessingJobArn", "Status.$": "$.ProcessingJobStatus"},
            "ResultPath": f"{STATE}.job",
        }

    def _read_metrics(self) -> sfn.IChainable:
        """Read the run's metrics.json from the results zone and parse it."""
        results = self._results_zone
        read = tasks.CallAwsService(
            self,
            "ReadAnalysisMetrics",
            service="s3",
            action="getObject",
            parameters={
                "Bucket": results.bucket_name,
                "Key": sfn.JsonPath.format(
                    f"{RESULTS_PREFIX}{{}}/metrics.json", sfn.JsonPath.string_at(f"{STATE}.jobName")
                ),
            },
            iam_resources=[results.arn_for_objects(f"{RESULTS_PREFIX}*")],
            iam_action="s3:GetObject",
            result_selector={"document.$": "States.StringToJson($.Body)"},
            result_path=f"{STATE}.metrics",
            comment="metrics.json of the run; its `registry` object describes the model.",
        )
        read.add_retry(
            errors=["S3.S3Exception", "S3.InternalErrorException"],
            interval=Duration.seconds(5),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return read

    def _register(self) -> sfn.IChainable:
        """Check that metrics.json names every registry field, then put the run's item in the registry."""
        complete = sfn.Condition.and_(*(sfn.Condition.is_present(f"{REGISTRY}.{f}") for f in REGISTRY_FIELDS))
        missing = sfn.Fail(
            self,
            "MetricsWithoutRegistry",
            error="MetricsWithoutRegistry",
            cause=f"metrics.json has no complete `registry` object (it needs {', '.join(REGISTRY_FIELDS)}).",
        )
        put = tasks.DynamoPutItem(
            self,
            "RegisterModel",
            table=self._job.registry,
            item=self._registry_item(),
            result_path=sfn.JsonPath.DISCARD,
            comment="One item per successful run: model, version, training window, metrics, artifact, features.",
        )
        put.add_retry(
            errors=list(DYNAMODB_TRANSIENT),
            interval=Duration.seconds(2),
            max_attempts=5,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return sfn.Choice(self, "HasRegistryEntry").when(complete, put).otherwise(missing)

    def _registry_item(self) -> dict[str, tasks.DynamoAttributeValue]:
        """The registry item; numbers and strings of metrics.json become strings, objects and lists JSON text."""
        path = sfn.JsonPath
        results = f"s3://{self._results_zone.bucket_name}/{RESULTS_PREFIX}"
        job_name = path.string_at(f"{STATE}.jobName")

        def text(field: str) -> tasks.DynamoAttributeValue:
            return tasks.DynamoAttributeValue.from_string(path.format("{}", path.string_at(f"{REGISTRY}.{field}")))

        def json_text(field: str) -> tasks.DynamoAttributeValue:
            return tasks.DynamoAttributeValue.from_string(path.json_to_string(path.object_at(f"{REGISTRY}.{field}")))

        return {
            "model_name": text("model_name"),
            "run_id": tasks.DynamoAttributeValue.from_string(
                path.format("{}#{}", path.string_at("$$.Execution.StartTime"), job_name)
            ),
            "model_version": text("model_version"),
            "training_start": text("training_start"),
            "training_end": text("training_end"),
            "metrics": json_text("metrics"),
            "features": json_text("features"),
            "feature_count": tasks.DynamoAttributeValue.number_from_string(
                path.format("{}", path.array_length(path.list_at(f"{REGISTRY}.features")))
            ),
            "artifact": tasks.DynamoAttributeValue.from_string(
                path.format(f"{results}{{}}/{{}}", job_name, path.string_at(f"{REGISTRY}.artifact"))
            ),
            "report": tasks.DynamoAttributeValue.from_string(path.format(f"{results}{{}}/index.html", job_name)),
            "job_name": tasks.DynamoAttributeValue.from_string(job_name),
            "job_arn": tasks.DynamoAttributeValue.from_string(path.string_at(f"{STATE}.job.ProcessingJobArn")),
            "execution_arn": tasks.DynamoAttributeValue.from_string(path.string_at("$$.Execution.Id")),
            "registered_at": tasks.DynamoAttributeValue.from_string(path.string_at("$$.State.EnteredTime")),
            "image": tasks.DynamoAttributeValue.from_string(self.image_uri),
        }

    def grant_run(self, role: ManagedPolicyRole) -> None:
        """Let the workflow's role start, watch and stop the job and pass it the job's role (tasks grant the rest)."""
        stack = Stack.of(self)
        jobs = (
            f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:processing-job/{self._name_prefix}-eda-*"
        )
        rule = f"arn:{stack.partition}:events:{stack.region}:{stack.account}:rule/{EVENTS_RULE}"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[jobs],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self._job.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[rule]
            )
        )
        role.acknowledge_wildcard_resources(
            jobs,
            reason="Each execution names its processing job at run time; the prefix limits the role to this "
            "environment's analysis jobs.",
        )
        role.acknowledge_wildcard_resources(
            self._results_zone.arn_for_objects(f"{RESULTS_PREFIX}*"),
            reason="The workflow reads metrics.json of the run's job folder, named at run time, under the one "
            "results prefix of the ML unit.",
        )
