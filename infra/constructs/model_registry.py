"""The model registry: one DynamoDB item per successful training run, written by the workflow."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.nag import acknowledge

# Items are keyed by model, then by run: the run id starts with the execution's start time, so a query on one
# model with ScanIndexForward=false returns its newest run first.
PARTITION_KEY = "model_name"
SORT_KEY = "run_id"


class ModelRegistry(Construct):
    """An on-demand DynamoDB table under the lake key with point-in-time recovery; protected where data is kept."""

    def __init__(self, scope: Construct, id: str, *, key: kms.IKey, removal: RemovalPolicy) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            # A few writes a day: on demand costs nothing while idle, provisioned capacity would.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The environment that keeps its data keeps its registry too: CloudFormation cannot delete it.
            deletion_protection=removal != RemovalPolicy.DESTROY,
            removal_policy=removal,
        )
        acknowledge(
            self.table,
            "HIPAA.Security-DynamoDBInBackupPlan",
            "NIST.800.53.R5-DynamoDBInBackupPlan",
            reason="Point-in-time recovery restores the registry to any second of the last 35 days; an AWS Backup "
            "plan would add a vault and its cost for older recovery points, which run metadata does not need.",
        )
