"""Session fixtures: one synthesis of every environment, shared by every test that reads a template."""

from __future__ import annotations

import json

import pytest

from infra.config import load_environment
from tests.synth import ENVIRONMENTS, Synthesized, environments_context, settings_for, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """Every environment in cdk.json, synthesized once for the whole session."""
    return {name: synthesize(settings_for(name), tmp_path_factory.mktemp(f"cdk.out-{name}")) for name in ENVIRONMENTS}


@pytest.fixture(scope="session")
def sandbox(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The default environment."""
    return synthesized["sandbox"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The production environment."""
    return synthesized["prod"]


@pytest.fixture(scope="session")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """prod's settings with Firehose converting to Parquet (`firehose.record_format`), synthesized once."""
    block = json.loads(json.dumps(environments_context()["prod"]))
    block["firehose"]["record_format"] = "parquet"
    return synthesize(load_environment({"parquet": block}, "parquet"), tmp_path_factory.mktemp("cdk.out-parquet"))
