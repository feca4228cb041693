"""The one way the lake raises an alarm: named after the environment, sent to the alert topic; and the one way an
AWS service's failure event reaches the same topic.

Each alarm is created by the construct of the resource it watches (the stream's lag by the stream, the transform's
errors by the transform function...), so adding an alarm touches one file; dashboards only draw what exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.nag import acknowledge


@dataclass(frozen=True)
class AlertTarget:
    """Where the alarms of one environment go (the alert topic) and how their names start (the resource prefix)."""

    topic: sns.ITopic
    name_prefix: str


def alarm(
    scope: Construct,
    id: str,
    *,
    alerts: AlertTarget,
    name: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    description: str,
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluation_periods: int = 1,
) -> cloudwatch.Alarm:
    """An alarm `<prefix>-<name>` on `metric` that notifies the alert topic when it fires.

    Missing data does not breach: every metric watched here is only reported while there is traffic, and an idle
    pipeline is a healthy one.
    """
    created = cloudwatch.Alarm(
        scope,
        id,
        alarm_name=f"{alerts.name_prefix}-{name}",
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        evaluation_periods=evaluation_periods,
        comparison_operator=comparison,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    created.add_alarm_action(cloudwatch_actions.SnsAction(alerts.topic))
    return created


def alarms_in(*scopes: IConstruct) -> list[cloudwatch.IAlarm]:
    """Every alarm defined under the given scopes (stacks), in construct order: what a dashboard shows."""
    return [
        construct for scope in scopes for construct in scope.node.find_all() if isinstance(construct, cloudwatch.Alarm)
    ]


def alert_on_failure_events(
    scope: Construct,
    *,
    topic: sns.ITopic,
    about: str,
    description: str,
    event_pattern: events.EventPattern,
    message: str,
) -> events.Rule:
    """An EventBridge rule `Failures` (under `scope`) that publishes the events `event_pattern` matches, as
    `message`, to the alert topic; `about` names what fails (the role's description says it).

    A role of the caller's stack publishes, so the topic's policy (in the Core stack) stays as it is.
    """
    role = ManagedPolicyRole(
        scope, "FailureAlertRole", service="events.amazonaws.com", description=f"Alerts on {about} failures."
    )
    rule = events.Rule(
        scope,
        "Failures",
        description=description,
        event_pattern=event_pattern,
        targets=[targets.SnsTopic(topic, role=role, message=events.RuleTargetInput.from_text(message))],
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        reason="Publishing to the KMS-encrypted alert topic needs data keys of the lake key; the grant names "
        "that one key.",
    )
    return rule
