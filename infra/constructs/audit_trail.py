"""The audit trail of the lake's objects: who read or wrote what, recorded by CloudTrail."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.checkov import skip_check
from infra.constructs.log_group import encrypted_log_group
from infra.constructs.managed_policy_role import ManagedPolicyRole
from infra.guard import acknowledge_key_from_another_stack
from infra.workload import serves

# Trail log files go under this prefix of the destination bucket, apart from the server access logs.
TRAIL_PREFIX = "cloudtrail"


class S3DataEventsTrail(Construct):
    """A CloudTrail trail of S3 data events (reads and writes) on the given buckets: KMS-encrypted and validated.

    Management events are left to the account's own trail (usually an organization trail); this one records what
    S3 server access logs record only on a best-effort basis: every object-level call, with the caller's identity.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        buckets: Sequence[s3.IBucket],
        destination: s3.IBucket,
        key: kms.IKey,
        log_group_name: str,
        log_retention_days: int,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        # CloudWatch Logs delivery makes the events searchable and alarmable within minutes.
        self.log_group = encrypted_log_group(
            self,
            "LogGroup",
            key=key,
            retention_days=log_retention_days,
            removal=removal,
            log_group_name=log_group_name,
        )
        self.trail = cloudtrail.Trail(
            self,
            "Trail",
            bucket=destination,
            s3_key_prefix=TRAIL_PREFIX,
            # The key policy admits CloudTrail of this account (LakeKey), which a grant to a role cannot do.
            encryption_key=key,
            enable_file_validation=True,
            is_multi_region_trail=False,
            include_global_service_events=False,
            management_events=cloudtrail.ReadWriteType.NONE,
        )
        serves(self, "audit of the lake buckets")
        acknowledge_key_from_another_stack(self.trail, "CT.CLOUDTRAIL.PR.1", key=key)
        skip_check(
            self.trail,
            "CKV_AWS_67",
            reason="This trail records only S3 data events on the lake's buckets, which live in this one region; "
            "management events of every region are left to the account's own trail.",
        )
        self.logs_role = self._deliver_to_log_group()
        self.trail.add_s3_event_selector(
            [cloudtrail.S3EventSelector(bucket=bucket) for bucket in buckets],
            read_write_type=cloudtrail.ReadWriteType.ALL,
            include_management_events=False,
        )

    def _deliver_to_log_group(self) -> ManagedPolicyRole:
        """The trail's delivery to its log group, through a role whose policy is a managed one.

        The L2 would deliver to CloudWatch Logs with a role of its own whose policy is inline; the compliance packs
        ask for a managed policy, so the delivery is wired here on the CfnTrail with such a role.
        """
        role = ManagedPolicyRole(
            self,
            "LogsRole",
            service="cloudtrail.amazonaws.com",
            description="CloudTrail: delivers the lake's S3 data events to their log group.",
        )
        self.log_group.grant(role, "logs:CreateLogStream", "logs:PutLogEvents")
        trail = self.trail.node.default_child
        assert isinstance(trail, cloudtrail.CfnTrail)
        trail.cloud_watch_logs_log_group_arn = self.log_group.log_group_arn
        trail.cloud_watch_logs_role_arn = role.role_arn
        # CloudTrail checks at creation that the role can write to the log group.
        trail.node.add_dependency(role.policy)
        return role
