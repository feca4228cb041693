"""What the SageMaker Processing job needs before the workflow can run it: code, wheels, network and permissions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from infra.checkov import skip_check
from infra.constructs.iam_findings import acknowledge_wildcard_resources
from infra.constructs.sklearn_image import image_uri, repository_arn

# Where the job writes in the results zone: one folder per run, named after the job.
RESULTS_PREFIX = "ml/eda/"
# SageMaker writes the job's container logs here (a log group of the account, shared by every processing job).
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
# What SageMaker does with network interfaces when a job runs in a VPC (the Developer Guide's VPC-mode list).
ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)
WHEELS_README = """\
Python wheels (cp312, manylinux x86_64) the SageMaker Processing job installs with
`pip install --no-index --find-links`, because the job runs without network access.
`make ml-wheels` fills this folder; synthesis ships whatever is here (this file alone when it is empty).
"""


def prepare_wheels_folder(path: Path) -> Path:
    """The wheels folder, created with a README when missing, so synthesis never fails before `make ml-wheels` ran."""
    path.mkdir(parents=True, exist_ok=True)
    readme = path / "README.txt"
    if not readme.exists():
        readme.write_text(WHEELS_README, encoding="utf-8")
    return path


@dataclass(frozen=True)
class ProcessingJobResources:
    """What one run of the processing job needs; the Ml stack creates it, the workflow's step uses it."""

    role: iam.IRole
    code: s3_assets.Asset
    wheels: s3_assets.Asset
    security_group: ec2.ISecurityGroup
    subnets: Sequence[ec2.ISubnet]
    registry: dynamodb.ITable


class ProcessingJobSetup(Construct):
    """The job's code and wheels as S3 assets, its security group, and a managed policy for the role that runs it.

    The role is the ML consumer role of the Storage stack: the curated zone admits it only through the VPC's S3
    endpoint, which is how the job reaches S3 from the isolated subnets. The policy lives here, attached to that
    role, so the ML unit's permissions deploy and disappear with the ML unit.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc,
        role: iam.IRole,
        key: kms.IKey,
        results_zone: s3.IBucket,
        code_dir: Path,
        wheels_dir: Path,
    ) -> None:
        super().__init__(scope, id)
        no_bytecode = ["**/__pycache__", "**/*.pyc"]
        self.code = s3_assets.Asset(self, "Code", path=str(code_dir), exclude=no_bytecode)
        self.wheels = s3_assets.Asset(self, "Wheels", path=str(wheels_dir))
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="SageMaker Processing job: HTTPS out to S3 through the gateway endpoint, nothing in.",
            allow_all_outbound=False,
        )
        # The isolated subnets route only inside the VPC and to the S3 endpoint's prefix list, whose ID is known
        # only in the account: any IPv4 on 443 reaches nothing else.
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to S3 (gateway endpoint) and interface endpoints"
        )
        self.image_uri = image_uri(self)
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description="SageMaker Processing job of the ML unit: code, wheels, results, lake key, VPC, logs.",
            roles=[role],
            statements=[
                *self._s3_statements(results_zone),
                *_kms_statements(key),
                *_runtime_statements(self),
            ],
        )
        self._acknowledge(results_zone)

    def _s3_statements(self, results_zone: s3.IBucket) -> list[iam.PolicyStatement]:
        """Read the two asset objects (exactly), write under the results prefix; the curated zone is granted already."""
        assets = (self.code, self.wheels)
        return [
            iam.PolicyStatement(
                sid="ReadCodeAndWheels",
                actions=["s3:GetObject"],
                resources=[asset.bucket.arn_for_objects(asset.s3_object_key) for asset in assets],
            ),
            iam.PolicyStatement(
                sid="ListCodeAndWheels",
                actions=["s3:ListBucket"],
                resources=[self.code.bucket.bucket_arn],
                conditions={"StringEquals": {"s3:prefix": [asset.s3_object_key for asset in assets]}},
            ),
            iam.PolicyStatement(
                sid="WriteResults",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[results_zone.arn_for_objects(f"{RESULTS_PREFIX}*")],
            ),
        ]

    def _acknowledge(self, results_zone: s3.IBucket) -> None:
        """The policy's wildcards, each with the reason it cannot be narrower."""
        # The results zone is another stack's: its finding id is known only once the reference is resolved.
        acknowledge_wildcard_resources(
            self.policy,
            results_zone.arn_for_objects(f"{RESULTS_PREFIX}*"),
            reason="Each run writes its report, metrics and model under a folder named after the job, which exists "
            "only at run time, below the one results prefix of the ML unit.",
        )
        skip_check(
            self.policy,
            "CKV_AWS_109",
            "CKV_AWS_111",
            reason="SageMaker's VPC mode creates and deletes the job's network interfaces and their permissions, "
            "whose IDs exist only at run time; the other writes name their bucket prefix, key or log group.",
        )
        acknowledge_wildcard_resources(
            self.policy,
            _log_streams(self),
            reason="SageMaker names each log stream after the job and its instance at run time, inside the one "
            "log group of processing jobs.",
        )
        acknowledge_wildcard_resources(
            self.policy,
            "*",
            reason="ECR GetAuthorizationToken, CloudWatch PutMetricData and the EC2 network-interface calls of "
            "SageMaker's VPC mode accept no narrower resource; PutMetricData is limited to SageMaker namespaces.",
        )


def _kms_statements(key: kms.IKey) -> list[iam.PolicyStatement]:
    """Decrypt inputs, encrypt outputs, and let SageMaker encrypt the instance's volume (a grant for AWS resources)."""
    return [
        iam.PolicyStatement(
            sid="UseTheLakeKey",
            actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            resources=[key.key_arn],
        ),
        iam.PolicyStatement(
            sid="GrantTheLakeKeyToTheJobVolume",
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]


def _log_streams(scope: Construct) -> str:
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{LOG_GROUP}:log-stream:*"


def _runtime_statements(scope: Construct) -> list[iam.PolicyStatement]:
    """Pull the image, write logs and metrics, manage the network interfaces of the job in the VPC."""
    stack = Stack.of(scope)
    log_group = f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{LOG_GROUP}"
    return [
        iam.PolicyStatement(
            sid="PullTheImage",
            actions=["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            resources=[repository_arn(scope)],
        ),
        iam.PolicyStatement(sid="AuthenticateToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        iam.PolicyStatement(
            sid="WriteJobLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            resources=[log_group, _log_streams(scope)],
        ),
        iam.PolicyStatement(
            sid="PutJobMetrics",
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ),
        iam.PolicyStatement(sid="ManageJobNetworkInterfaces", actions=list(ENI_ACTIONS), resources=["*"]),
    ]
