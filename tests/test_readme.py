"""The README stays true: its settings table is the model's, and every make target it names exists."""

from __future__ import annotations

import re

from tests.synth import ROOT
from tools.settings_table import embed

README = (ROOT / "README.md").read_text()
MAKEFILE = (ROOT / "Makefile").read_text()
# A unit's page under docs/ documents its own targets (docs/ml.md: `make eda`, `make ml-wheels`).
DOCS = "\n".join(page.read_text() for page in sorted((ROOT / "docs").glob("*.md")))


def test_settings_table_matches_the_configuration_model() -> None:
    assert embed(README) == README, "run `.venv/bin/python -m tools.settings_table --write` and commit README.md"


def test_every_make_target_named_in_the_readme_exists() -> None:
    named = set(re.findall(r"`make ([a-z-]+)", README))
    defined = set(re.findall(r"^([a-z-]+):", MAKEFILE, flags=re.MULTILINE))
    assert named, "the README names the make targets"
    assert named <= defined, f"README names targets the Makefile lacks: {sorted(named - defined)}"


def test_every_documented_make_target_is_in_the_readme_or_a_docs_page() -> None:
    documented = set(re.findall(r"^([a-z-]+):.*## ", MAKEFILE, flags=re.MULTILINE))
    assert {f"make {t}" for t in documented} <= set(re.findall(r"make [a-z-]+", README + DOCS))
