"""The warehouse's external schema over the lake's Glue database, created at deploy time (Spectrum).

The Redshift Data API is asynchronous, so a CDK `Provider` runs two handlers (lambdas/warehouse_schema/): one starts
the statements, the other polls DescribeStatement until they finish; a failed statement fails the deployment with
Redshift's error text. The handlers run outside the VPC: they call only public AWS APIs (Data API, Redshift
Serverless, Secrets Manager) over TLS with IAM, and the Data API reaches the workgroup on its own side.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aws_cdk import ArnFormat, CustomResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.checkov import CDK_HANDLER_SKIPS, skip_check
from infra.constructs.alarms import AlertTarget, alarm
from infra.constructs.iam_findings import acknowledge_wildcard_resources
from infra.constructs.lambda_findings import acknowledge_outside_vpc
from infra.constructs.log_group import encrypted_log_group, lake_log_group_name
from infra.constructs.managed_policy_role import ManagedPolicyRole, trust_conditions
from infra.guard import acknowledge_control
from infra.nag import acknowledge

ASSET = Path(__file__).resolve().parents[2] / "lambdas" / "warehouse_schema"
# Creating an external schema takes seconds; a workgroup that has just become available may take a minute more.
POLL_INTERVAL = Duration.seconds(10)
TOTAL_TIMEOUT = Duration.minutes(15)
ALARM_PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class SchemaTarget:
    """Where the schema is created and what it maps: the workgroup, its namespace and database, the catalog's
    database, the role Spectrum reads with."""

    workgroup_name: str
    workgroup_arn: str
    namespace_name: str
    namespace_arn: str
    database: str
    schema: str
    catalog_database: str
    role_arn: str


class SpectrumSchema(Construct):
    """A custom resource that keeps `CREATE EXTERNAL SCHEMA <schema> FROM DATA CATALOG DATABASE '<lake db>'`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        target: SchemaTarget,
        key: kms.IKey,
        alerts: AlertTarget,
        resource_prefix: str,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self._key, self._prefix = key, resource_prefix
        self._retention, self._removal = log_retention_days, removal
        self.role = ManagedPolicyRole(
            self, "HandlerRole", service="lambda.amazonaws.com", description="Keeps the warehouse's external schema."
        )
        self._grant(target, key)
        self.on_event = self._function("OnEvent", "handler.on_event", "on-event")
        self.is_complete = self._function("IsComplete", "handler.is_complete", "is-complete")
        self.provider = self._provider()
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=self.provider.service_token,
            resource_type="Custom::SpectrumSchema",
            properties={
                "WorkgroupName": target.workgroup_name,
                "NamespaceName": target.namespace_name,
                "Database": target.database,
                "Schema": target.schema,
                "CatalogDatabase": target.catalog_database,
                "RoleArn": target.role_arn,
            },
        )
        # The statements need the handlers' permissions in place.
        self.resource.node.add_dependency(self.role.policy)
        self.errors_alarm = self._errors_alarm(alerts)

    def _log_group(self, id: str, name: str) -> logs.LogGroup:
        return encrypted_log_group(
            self, id, key=self._key, retention_days=self._retention, removal=self._removal, log_group_name=name
        )

    def _provider(self) -> cr.Provider:
        """CDK's provider framework around the two handlers, its functions and waiter logging to the lake's groups.

        Its functions get roles of the lake's kind, so that their grants land in managed policies; two roles, as the
        on-event function starts the waiter, which invokes the other two.
        """
        roles = [
            ManagedPolicyRole(self, role_id, service="lambda.amazonaws.com", description=f"Runs the provider's {what}.")
            for role_id, what in (
                ("FrameworkOnEventRole", "framework on-event"),
                ("FrameworkCompleteRole", "framework is-complete and time-out"),
            )
        ]
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.on_event,
            is_complete_handler=self.is_complete,
            query_interval=POLL_INTERVAL,
            total_timeout=TOTAL_TIMEOUT,
            framework_on_event_role=roles[0],
            framework_complete_and_timeout_role=roles[1],
            log_group=self._log_group(
                "ProviderLogs", lake_log_group_name(self._prefix, "lambda", "warehouse-schema-provider")
            ),
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=self._log_group("WaiterLogs", f"/aws/vendedlogs/states/{self._prefix}-warehouse-schema"),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
            provider_function_env_encryption=self._key,
        )
        for role in roles:
            role.acknowledge_wildcard_resources(
                *(f"{function.function_arn}:*" for function in (self.on_event, self.is_complete)),
                reason="The provider framework invokes the handlers by ARN and by any version or alias of them, as "
                "CDK grants it; nothing else.",
            )
        self._acknowledge_framework_functions(provider)
        self._harden_waiter(provider)
        return provider

    def _errors_alarm(self, alerts: AlertTarget) -> cloudwatch.Alarm:
        """Either handler failing (a statement failed, a call was refused) is a failed deployment to look into."""
        return alarm(
            self,
            "ErrorsAlarm",
            alerts=alerts,
            name="warehouse-schema-errors",
            metric=cloudwatch.MathExpression(
                expression="onEvent + isComplete",
                using_metrics={
                    "onEvent": self.on_event.metric_errors(statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD),
                    "isComplete": self.is_complete.metric_errors(statistic=cloudwatch.Stats.SUM, period=ALARM_PERIOD),
                },
                label="Schema provider errors",
                period=ALARM_PERIOD,
            ),
            threshold=0,
            description="The warehouse's external schema could not be created, changed or dropped; the failed "
            "deployment and the provider's log groups say which statement failed and why.",
        )

    def _grant(self, target: SchemaTarget, key: kms.IKey) -> None:
        """Run statements on this workgroup as the namespace's admin (its managed secret), and describe them."""
        stack = Stack.of(self)
        secrets = stack.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"redshift!{target.namespace_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        for statement in (
            iam.PolicyStatement(actions=["redshift-data:BatchExecuteStatement"], resources=[target.workgroup_arn]),
            iam.PolicyStatement(actions=["redshift-serverless:GetNamespace"], resources=[target.namespace_arn]),
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secrets]),
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"}},
            ),
            # The Data API checks that the caller started the statement; it takes no narrower resource.
            iam.PolicyStatement(actions=["redshift-data:DescribeStatement"], resources=["*"]),
        ):
            self.role.add_to_principal_policy(statement)
        self.role.acknowledge_wildcard_resources(
            secrets,
            reason="Redshift names the admin secret it manages after the namespace with a random suffix; the pattern "
            "admits that namespace's secrets only.",
        )
        self.role.acknowledge_wildcard_resources(
            "*",
            reason="The Data API's DescribeStatement takes no resource narrower than '*' and answers only for "
            "statements the same role started.",
        )

    def _function(self, step: str, handler: str, name: str) -> lambda_.Function:
        """One of the two handlers, from the same code and role, logging to a group of its own."""
        log_group = self._log_group(
            f"{step}Logs", lake_log_group_name(self._prefix, "lambda", f"warehouse-schema-{name}")
        )
        function = lambda_.Function(
            self,
            step,
            description=f"Warehouse external schema: {step} handler of the deploy-time provider.",
            code=lambda_.Code.from_asset(str(ASSET), exclude=["__pycache__", "*.pyc"]),
            handler=handler,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=128,
            timeout=Duration.seconds(60),
            role=self.role,
            log_group=log_group,
            environment_encryption=self._key,
        )
        function.node.add_dependency(self.role)
        self._acknowledge(function)
        return function

    def _acknowledge_framework_functions(self, provider: cr.Provider) -> None:
        """What the packs ask of CDK's provider framework functions, which this construct cannot change: the same
        reasons as for CDK's other custom-resource handlers (infra/checkov.py)."""
        for function in (c for c in provider.node.find_all() if isinstance(c, lambda_.Function)):
            acknowledge(
                function,
                "HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321-LambdaInsideVPC",
                reason=CDK_HANDLER_SKIPS["CKV_AWS_117"],
            )
            acknowledge(
                function,
                "HIPAA.Security-LambdaConcurrency",
                "NIST.800.53.R5-LambdaConcurrency",
                reason=CDK_HANDLER_SKIPS["CKV_AWS_115"],
            )
            acknowledge(
                function,
                "HIPAA.Security-LambdaDLQ",
                "NIST.800.53.R5-LambdaDLQ",
                reason=CDK_HANDLER_SKIPS["CKV_AWS_116"],
            )
            for check_id, reason in CDK_HANDLER_SKIPS.items():
                skip_check(function, check_id, reason=reason)
            acknowledge_control(function, "CT.LAMBDA.PR.3", reason=CDK_HANDLER_SKIPS["CKV_AWS_117"])

    def _harden_waiter(self, provider: cr.Provider) -> None:
        """The framework's waiter state machine: trust only for this account's state machines, and the findings on
        the role and policy CDK creates for it, which it offers no way to replace."""
        waiter = provider.node.find_child("waiter-state-machine")
        waiter_role = waiter.node.find_child("Role")
        trust = cast(iam.CfnRole, waiter_role.node.default_child)
        trust.add_property_override(
            "AssumeRolePolicyDocument.Statement.0.Condition", trust_conditions(self, "states.amazonaws.com")
        )
        acknowledge(
            waiter_role,
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "PCI.DSS.321-IAMNoInlinePolicy",
            reason="CDK's provider framework creates its waiter's role and inline policy itself and offers no way to "
            "pass a role; the policy only invokes the framework's two functions and writes the waiter's logs.",
        )
        acknowledge_wildcard_resources(
            waiter_role,
            *(f"{function.function_arn}:*" for function in self._framework_functions(provider)),
            reason="The waiter invokes the framework's is-complete and time-out functions by any version, as CDK "
            "grants it; nothing else.",
        )
        vended_logs = (
            "Step Functions delivers the waiter's logs through CloudWatch Logs' vended-log APIs (CreateLogDelivery "
            "and the like), which accept no resource narrower than '*'."
        )
        acknowledge_wildcard_resources(waiter_role, "*", reason=vended_logs)
        skip_check(waiter_role.node.find_child("DefaultPolicy"), "CKV_AWS_111", reason=vended_logs)
        no_tracing = (
            "The waiter is CDK's provider framework: a two-state retry loop of its own functions, which logs every "
            "event to an encrypted log group and offers no tracing option; there is no service call to trace."
        )
        acknowledge(waiter, "AwsSolutions-SF2", reason=no_tracing)
        acknowledge_control(waiter, "CT.STEPFUNCTIONS.PR.2", reason=no_tracing)

    @staticmethod
    def _framework_functions(provider: cr.Provider) -> list[lambda_.Function]:
        """The framework's is-complete and time-out functions, which its waiter invokes."""
        return [
            function
            for name in ("isComplete", "onTimeout")
            if isinstance(function := provider.node.find_child(f"framework-{name}"), lambda_.Function)
        ]

    def _acknowledge(self, function: lambda_.Function) -> None:
        """What the compliance packs and checkov ask of a Lambda that does not apply to a deploy-time handler."""
        no_vpc = (
            "The handler calls only the Redshift Data API, Redshift Serverless and Secrets Manager over TLS with IAM "
            "while its stack deploys; the lake's VPC has no route to those APIs without paid endpoints."
        )
        acknowledge_outside_vpc(function, reason=no_vpc)
        once = (
            "The handler runs only while CloudFormation deploys the stack, once per event, and a failure fails the "
            "deployment where the operator sees it: neither a reserved pool nor a dead-letter queue serves it."
        )
        acknowledge(function, "HIPAA.Security-LambdaConcurrency", "NIST.800.53.R5-LambdaConcurrency", reason=once)
        acknowledge(function, "HIPAA.Security-LambdaDLQ", "NIST.800.53.R5-LambdaDLQ", reason=once)
        skip_check(function, "CKV_AWS_115", "CKV_AWS_116", reason=once)
