"""Composes one environment's stacks; the only place that knows how the stacks depend on each other."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Environment, Stack, Tags
from constructs import Construct

from infra.config import EnvironmentSettings
from infra.stacks.core import CoreStack
from infra.stacks.storage import StorageStack


@dataclass(frozen=True)
class Lake:
    """The stacks of one environment, in deployment order."""

    core: CoreStack
    storage: StorageStack

    @property
    def stacks(self) -> tuple[Stack, ...]:
        """Every stack, in the order CloudFormation deploys them."""
        return (self.core, self.storage)


def build_lake(scope: Construct, settings: EnvironmentSettings) -> Lake:
    """Create the stacks of the environment `settings` describes, named `MlDataLake-<env>-<Unit>`."""
    env = Environment(account=settings.account, region=settings.region) if settings.account else None
    common = {"env": env, "termination_protection": settings.termination_protection}

    core = CoreStack(
        scope,
        settings.stack_name("Core"),
        settings=settings,
        description=f"ML data lake ({settings.name}): the lake key and the alert topic.",
        **common,
    )
    storage = StorageStack(
        scope,
        settings.stack_name("Storage"),
        settings=settings,
        lake_key=core.lake_key,
        description=f"ML data lake ({settings.name}): the buckets of the lake (stateful).",
        **common,
    )
    lake = Lake(core=core, storage=storage)
    for stack in lake.stacks:
        for key, value in {"Environment": settings.name, **settings.tags}.items():
            Tags.of(stack).add(key, value)
    return lake
