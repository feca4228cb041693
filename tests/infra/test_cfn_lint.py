"""cfn-lint over every synthesized template of every environment: errors and warnings both fail.

The security gate runs the CLI (not the API) with `.cfnlintrc.yaml`, the one place a rule may be ignored, with its
reason; an ignore that no template needs any more is reported as stale.
"""

from __future__ import annotations

from tests.synth import ENVIRONMENT_UNITS, ENVIRONMENTS
from tools.security.model import Report


def test_every_template_passes_cfn_lint(security_review: Report) -> None:
    lint = [f for f in security_review.findings if f.tool == "cfn-lint"]
    assert [f"{f.rule} {f.status} at {f.environment} {f.resource}: {f.message}" for f in lint if f.fails] == []
    # The review linted the templates of every environment, all of them
    assert {env: len(stacks) for env, stacks in security_review.resources.items()} == {
        env: len(ENVIRONMENT_UNITS[env]) for env in ENVIRONMENTS
    }
