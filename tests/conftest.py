"""Session fixtures: one synthesis of every environment, and one of the variant, shared by every test."""

from __future__ import annotations

import pytest

from tests.synth import ENVIRONMENTS, VARIANT, VARIANT_BLOCK, Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """Every environment in cdk.json, synthesized once for the whole session."""
    return {name: synthesize(name, tmp_path_factory.mktemp(f"cdk.out-{name}")) for name in ENVIRONMENTS}


@pytest.fixture(scope="session")
def sandbox(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The default environment."""
    return synthesized["sandbox"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    """The production environment."""
    return synthesized["prod"]


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The one environment that turns on what the project's own environments leave off (tests.synth.VARIANT)."""
    return synthesize(VARIANT, tmp_path_factory.mktemp("cdk.out-variant"), environments={VARIANT: VARIANT_BLOCK})
