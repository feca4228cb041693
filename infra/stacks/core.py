"""What every other stack of the lake uses: the customer-managed key and the alert topic."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.constructs.alert_topic import AlertTopic
from infra.constructs.lake_key import LakeKey
from infra.constructs.log_group import lake_log_group_patterns


class CoreStack(Stack):
    """The lake key (stateful: it decrypts every object) and the alert topic."""

    def __init__(
        self, scope: Construct, id: str, *, settings: EnvironmentSettings, removal: RemovalPolicy, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.lake_key = LakeKey(
            self,
            "LakeKey",
            alias=f"ml-data-lake/{settings.name}",
            removal=removal,
            log_group_patterns=lake_log_group_patterns(settings.resource_prefix),
            consumer_accounts=settings.consumer_accounts,
        ).key
        self.alert_topic = AlertTopic(self, "Alerts", key=self.lake_key, email=settings.alert_email).topic
