"""An IAM role whose grants land in a customer-managed policy instead of an inline one."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.constructs.iam_findings import acknowledge_wildcard_resources


@dataclass(frozen=True)
class ServiceTrust:
    """What a service tells STS about whom it acts for when it assumes a role, and so what its trust may require."""

    source_account: bool  # it sends aws:SourceAccount
    source_arn: str | None  # the resource type of aws:SourceArn it sends (`stateMachine:*`), if any
    external_id_is_account: bool = False  # it sends the account ID as sts:ExternalId instead (Firehose)


# Confused-deputy protection, one entry per service the lake's roles trust: the role can be assumed only by the
# service acting for this account (and, where the service sends it, for a resource of the kind named).
SERVICE_TRUST: dict[str, ServiceTrust] = {
    "glue.amazonaws.com": ServiceTrust(source_account=True, source_arn=None),
    "lambda.amazonaws.com": ServiceTrust(source_account=True, source_arn=None),
    "states.amazonaws.com": ServiceTrust(source_account=True, source_arn="states:stateMachine:*"),
    "events.amazonaws.com": ServiceTrust(source_account=True, source_arn="events:rule/*"),
    "vpc-flow-logs.amazonaws.com": ServiceTrust(source_account=True, source_arn="ec2:vpc-flow-log/*"),
    "sagemaker.amazonaws.com": ServiceTrust(source_account=True, source_arn="sagemaker:*"),
    # Managed Service for Apache Flink sends both keys; aws:SourceArn is the application's ARN.
    "kinesisanalytics.amazonaws.com": ServiceTrust(source_account=True, source_arn="kinesisanalytics:application/*"),
    # Firehose documents the account ID as the external ID in its roles' trust, and no aws:Source* key.
    "firehose.amazonaws.com": ServiceTrust(source_account=False, source_arn=None, external_id_is_account=True),
    # CloudTrail's delivery to CloudWatch Logs sends neither key: a condition on them stops the delivery.
    "cloudtrail.amazonaws.com": ServiceTrust(source_account=False, source_arn=None),
    # Redshift documents no aws:Source* key for the roles a namespace assumes (Spectrum, COPY): only sts:ExternalId
    # naming database users, which would tie the role to users that do not exist before deployment. A condition on a
    # key it does not send would stop Spectrum; the role is read-only on the lake's published folders.
    "redshift.amazonaws.com": ServiceTrust(source_account=False, source_arn=None),
    # DMS sends aws:SourceAccount (DMS user guide, "Cross-service confused deputy prevention").
    "dms.amazonaws.com": ServiceTrust(source_account=True, source_arn=None),
}


def trust_conditions(scope: Construct, service: str) -> dict[str, dict[str, str]]:
    """The conditions of `service`'s trust in a role of this account (see SERVICE_TRUST); refuses unknown services."""
    trust = SERVICE_TRUST.get(service)
    if trust is None:
        raise ValueError(
            f"ManagedPolicyRole for {service!r}: add the service to SERVICE_TRUST with the condition keys it sends "
            f"when it assumes a role (known: {', '.join(sorted(SERVICE_TRUST))})"
        )
    stack = Stack.of(scope)
    conditions: dict[str, dict[str, str]] = {}
    if trust.source_account:
        conditions["StringEquals"] = {"aws:SourceAccount": stack.account}
    if trust.external_id_is_account:
        conditions["StringEquals"] = {"sts:ExternalId": stack.account}
    if trust.source_arn:
        service_name, resource = trust.source_arn.split(":", 1)
        arn = f"arn:{stack.partition}:{service_name}:{stack.region}:{stack.account}:{resource}"
        conditions["ArnLike"] = {"aws:SourceArn": arn}
    return conditions


class ManagedPolicyRole(iam.Role):
    """A role for a service; every `grant_*` made to it is written to its one customer-managed policy.

    The compliance packs (HIPAA, NIST 800-53, PCI DSS: IAMNoInlinePolicy) ask for managed policies, which can be
    reviewed, versioned and audited on their own. CDK grants write to an inline `DefaultPolicy`; overriding
    `add_to_principal_policy`, which every grant calls, sends them to the managed policy instead. Its trust policy
    admits the service only when acting for this account (SERVICE_TRUST).
    """

    def __init__(self, scope: Construct, id: str, *, service: str, description: str) -> None:
        principal = iam.ServicePrincipal(service, conditions=trust_conditions(scope, service))
        super().__init__(scope, id, assumed_by=principal, description=description)
        self.policy = iam.ManagedPolicy(self, "Policy", roles=[self], description=description)

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        """Add the statement to the role's managed policy."""
        self.policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self.policy)

    def acknowledge_wildcard_resources(self, *resources: str, reason: str) -> None:
        """Acknowledge the AwsSolutions-IAM5 finding of each wildcard resource (a token is fine) in the policy."""
        acknowledge_wildcard_resources(self.policy, *resources, reason=reason)
