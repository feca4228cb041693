"""Reading one environment's block of settings out of the `environments` context."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from infra.config.errors import ConfigError, describe
from infra.config.models import EnvironmentSettings

DEFAULT_ENVIRONMENT = "sandbox"


def load_environment(environments: object, name: object) -> EnvironmentSettings:
    """Parse the block for environment `name` out of the `environments` context; raise ConfigError if invalid."""
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError("cdk.json context has no 'environments' block; add one block per environment, e.g. sandbox")
    known = ", ".join(sorted(environments))
    if not isinstance(name, str) or name not in environments:
        raise ConfigError(f"unknown environment {name!r} (from -c env=...); known environments: {known}")
    block = environments[name]
    if not isinstance(block, Mapping):
        raise ConfigError(f"environments.{name}: expected a block of settings, got {type(block).__name__}")
    if "name" in block:
        raise ConfigError(f"environments.{name}.name: not a setting; the environment's name is the key of its block")
    try:
        return EnvironmentSettings.model_validate({"name": name, **block})
    except ValidationError as error:
        raise ConfigError(describe(error, f"environments.{name}", block, EnvironmentSettings)) from None
