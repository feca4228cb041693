"""CloudWatch log groups the lake's way: encrypted with the lake key, named for the environment, retention and removal
from the settings.

The lake key admits CloudWatch Logs only for log groups whose names match `lake_log_group_patterns` (LakeKey), so
every log group of the lake is named with `lake_log_group_name` or under one of the services' own prefixes below.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.guard import acknowledge_control, acknowledge_key_from_another_stack

# Control Tower's CT.CLOUDWATCH.PR.2 asks for at least a year of retention.
ONE_YEAR = 365
# The CDK names CloudWatch's retention periods; config.LOG_RETENTION_DAYS lists the same days (a test checks).
RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def lake_log_group_name(prefix: str, *parts: str) -> str:
    """`/<prefix>/<part>/...` (prefix: `ml-data-lake-<env>`): a log group whose service lets us choose its name."""
    return "/".join((f"/{prefix}", *parts))


def lake_log_group_patterns(prefix: str) -> tuple[str, ...]:
    """The names (with `*` wildcards) of every log group of one environment, as the lake key's policy lists them.

    Our own groups (Lambda, Firehose, Flink, flow logs, CloudTrail) are under `/ml-data-lake-<env>/`; Step Functions
    logs under `/aws/vendedlogs/states/` (which keeps CloudWatch Logs' resource policy small); Glue under `/aws-glue/`,
    where Glue itself names the groups of crawlers and jobs after their security configuration (named from `prefix`);
    Redshift Serverless under `/aws/redshift/<namespace>/<log type>`, a name it fixes (the warehouse's namespace is
    named `prefix`), so only that namespace's groups are admitted;
    RDS under `/aws/rds/instance/<instance identifier>/`, where the CDC unit's source instance is named from `prefix`.
    """
    return (
        f"/{prefix}/*",
        f"/aws/vendedlogs/states/{prefix}-*",
        f"/aws-glue/*{prefix}*",
        redshift_log_group_name(prefix, "*"),
        f"/aws/rds/instance/{prefix}-*",
    )


def redshift_log_group_name(namespace: str, log_type: str) -> str:
    """The log group Redshift Serverless exports one audit log of a namespace to (it uses the group if it exists)."""
    return f"/aws/redshift/{namespace}/{log_type}"


def encrypted_log_group(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey,
    retention_days: int,
    removal: RemovalPolicy,
    log_group_name: str,
) -> logs.LogGroup:
    """A log group encrypted with `key` (whose policy admits CloudWatch Logs, see LakeKey) and a set retention.

    `log_group_name` must match one of `lake_log_group_patterns`, or CloudWatch Logs cannot use the key.
    """
    log_group = logs.LogGroup(
        scope,
        id,
        encryption_key=key,
        retention=RETENTION[retention_days],
        removal_policy=removal,
        log_group_name=log_group_name,
    )
    acknowledge_key_from_another_stack(log_group, "CT.CLOUDWATCH.PR.3", key=key)
    if retention_days < ONE_YEAR:
        acknowledge_control(
            log_group,
            "CT.CLOUDWATCH.PR.2",
            reason=f"This environment's settings keep logs {retention_days} days (log_retention_days): it holds "
            "no data worth a year of storage, and an environment that does sets 365 or more.",
        )
    return log_group
