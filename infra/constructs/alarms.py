"""The one way the lake raises an alarm: named after the environment, sent to the alert topic.

Each alarm is created by the construct of the resource it watches (the stream's lag by the stream, the transform's
errors by the transform function...), so adding an alarm touches one file; dashboards only draw what exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct


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
