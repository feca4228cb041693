"""The lake's alert topic: every alarm and workflow failure of one environment is published here."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class AlertTopic(Construct):
    """A KMS-encrypted SNS topic, TLS-only, with an optional e-mail subscription."""

    def __init__(self, scope: Construct, id: str, *, key: kms.IKey, email: str | None) -> None:
        super().__init__(scope, id)
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True)
        # CloudWatch alarms and EventBridge rules publish to an encrypted topic only if the key lets them use it.
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"Allow{service.split('.')[0].capitalize()}ToPublishEncryptedAlerts",
                    principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                )
            )
        if email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))
