"""The ML unit's standing resources: the model registry, and what the workflow's processing job runs with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.ml_processing import ProcessingJobResources, ProcessingJobSetup, prepare_wheels_folder
from infra.constructs.model_registry import ModelRegistry

ROOT = Path(__file__).resolve().parents[2]
CODE_DIR = ROOT / "ml_jobs"
WHEELS_DIR = ROOT / "build" / "ml" / "wheels"


class MlStack(Stack):
    """The model registry table (stateful), the job's code and wheels, its security group and its role's policy."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EnvironmentSettings,
        lake_key: kms.IKey,
        vpc: ec2.IVpc,
        job_role: iam.IRole,
        query_results: s3.IBucket,
        removal: RemovalPolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.registry = ModelRegistry(self, "ModelRegistry", key=lake_key, removal=removal).table
        setup = ProcessingJobSetup(
            self,
            "ProcessingJob",
            vpc=vpc,
            role=job_role,
            key=lake_key,
            results_zone=query_results,
            code_dir=CODE_DIR,
            wheels_dir=prepare_wheels_folder(WHEELS_DIR),
        )
        self.processing_job = ProcessingJobResources(
            role=job_role,
            code=setup.code,
            wheels=setup.wheels,
            security_group=setup.security_group,
            subnets=vpc.isolated_subnets,
            registry=self.registry,
        )
        CfnOutput(self, "ModelRegistryTableName", value=self.registry.table_name, description="One item per run.")
        CfnOutput(self, "ProcessingImage", value=setup.image_uri, description="The prebuilt scikit-learn image.")
