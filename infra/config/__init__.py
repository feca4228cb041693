"""Typed, validated settings: one `EnvironmentSettings` per block under `environments` in cdk.json.

`models` holds the settings models and their rules, `errors` turns a validation error into one line, `load` reads
one environment's block, `reference` lists every setting for the generated settings table.
"""

from infra.config.errors import ConfigError
from infra.config.load import DEFAULT_ENVIRONMENT, load_environment
from infra.config.ml import MlSettings
from infra.config.models import (
    ENV_NAME,
    LOG_RETENTION_DAYS,
    AthenaSettings,
    EnvironmentSettings,
    FirehoseSettings,
    GlueSettings,
    KinesisSettings,
    NetworkSettings,
    StorageSettings,
    WorkflowSettings,
    ZoneLifecycle,
)
from infra.config.reference import settings_reference
from infra.config.warehouse import WarehouseSettings

__all__ = [
    "DEFAULT_ENVIRONMENT",
    "ENV_NAME",
    "LOG_RETENTION_DAYS",
    "AthenaSettings",
    "ConfigError",
    "EnvironmentSettings",
    "FirehoseSettings",
    "GlueSettings",
    "KinesisSettings",
    "MlSettings",
    "NetworkSettings",
    "StorageSettings",
    "WarehouseSettings",
    "WorkflowSettings",
    "ZoneLifecycle",
    "load_environment",
    "settings_reference",
]
