"""Session fixtures: one synthesis of every environment (reviewed once by the security gate), and one variant.

Every test that reads them runs on the same xdist worker (group `lake`), so each is synthesized once per session.
"""

from __future__ import annotations

import pytest

from tests.synth import ENVIRONMENTS, VARIANT, VARIANT_BLOCK, Synthesized, synthesize
from tools.security import gate
from tools.security.model import Report
from tools.security.synthesis import for_review

LAKE_FIXTURES = {"synthesized", "sandbox", "prod", "variant", "security_review"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put every test that reads a synthesized environment on one worker, before xdist distributes the groups."""
    for item in items:
        if LAKE_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("lake"))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """Every environment in cdk.json, synthesized once for the whole session, as the security gate synthesizes."""
    return {
        name: synthesize(name, tmp_path_factory.mktemp(f"cdk.out-{name}"), for_review=True) for name in ENVIRONMENTS
    }


@pytest.fixture(scope="session")
def security_review(synthesized: dict[str, Synthesized]) -> Report:
    """The security gate's review (cdk-nag, cfn-lint, checkov) of the session's environments, as `make security`.

    It applies each environment's deferred acknowledgments, once.
    """
    return gate.review([for_review(name, synth.synthesis) for name, synth in synthesized.items()])


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
