"""What happens to stateful resources when their stack is deleted: decided once, from the settings."""

from __future__ import annotations

from aws_cdk import RemovalPolicy

from infra.config import EnvironmentSettings


def removal_policy(settings: EnvironmentSettings) -> RemovalPolicy:
    """DESTROY only where the environment's settings say so; RETAIN everywhere else."""
    return RemovalPolicy.DESTROY if settings.destroy_on_delete else RemovalPolicy.RETAIN
