"""The one function the analytics constructs create their alarms with; the shared alarms helper replaces it."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct


def analytics_alarm(
    scope: Construct,
    id: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator,
    evaluation_periods: int,
    topic: sns.ITopic,
    description: str,
) -> cloudwatch.Alarm:
    """An alarm on `metric` that notifies `topic`, named `<stack>-<id>` so environments never collide.

    Missing data is not breaching: a stopped application or a quiet queue publishes nothing, and that is healthy.
    """
    alarm = cloudwatch.Alarm(
        scope,
        id,
        alarm_name=f"{Stack.of(scope).stack_name}-{id}",
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=evaluation_periods,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm
