"""The security gate over the two ends of the optional units: every one on (the variant) and every one off (bare)."""

from __future__ import annotations

import pytest

from tests.synth import BARE, OPTIONAL_BLOCKS, OPTIONAL_UNITS, UNITS, VARIANT, Synthesized
from tools.security.model import ALL_ENVIRONMENTS, Report

# The fixtures are asked for by name (request.getfixturevalue), which the conftest cannot see when it puts every test
# that reads a synthesis on one worker: say so here, or a second worker would synthesize and review them again.
pytestmark = pytest.mark.xdist_group("lake")


@pytest.mark.parametrize(("name", "every_unit_on"), [(VARIANT, True), (BARE, False)])
def test_the_gate_passes_with_every_optional_unit_on_and_with_every_one_off(
    name: str, every_unit_on: bool, request: pytest.FixtureRequest
) -> None:
    # Given the environment and the gate's review of it (cdk-nag packs, cfn-lint, checkov, cfn-guard)
    synth: Synthesized = request.getfixturevalue(name)
    review: Report = request.getfixturevalue("combinations_review")
    # Then it has exactly the units of its combination: all of them, or none of the optional ones
    expected = UNITS if every_unit_on else tuple(unit for unit in UNITS if unit not in OPTIONAL_UNITS)
    assert tuple(synth.templates) == expected
    assert {getattr(synth.settings, block).enabled for block in OPTIONAL_BLOCKS} == {every_unit_on}
    # And the gate reviewed every one of them and finds nothing unacknowledged and no stale acknowledgment
    assert set(review.resources[name]) == {f"MlDataLake-{name}-{unit}" for unit in expected}
    failing = [f for f in review.failing if f.environment in (name, ALL_ENVIRONMENTS)]
    assert [f"{f.tool} {f.rule} at {f.resource}: {f.reason or f.message}" for f in failing] == []
