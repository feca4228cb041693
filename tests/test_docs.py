"""The documentation stays true: generated tables match the code, and every path, test, link and target it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.synth import ROOT
from tools.settings_table import SETTINGS_PAGE, embed

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
MAKEFILE = (ROOT / "Makefile").read_text()
NOTES_MAP = ROOT / "docs" / "notes-map.md"

# A backticked repository path in the notes map: a folder or file below a top-level folder, optionally `::test_name`.
_PATH = re.compile(r"`((?:app\.py|cdk\.json|Makefile|[a-z_]+/[^`\s]*?)(?:::(test_\w+))?)`")
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#([^)\s]+))?\)")


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_front_page_stays_short() -> None:
    # Given the README, when its lines are counted, then it is a front page, not a manual
    assert len(_text(README).splitlines()) <= 200


def test_settings_table_matches_the_configuration_model() -> None:
    page = _text(SETTINGS_PAGE)
    assert embed(page) == page, "run `.venv/bin/python -m tools.settings_table --write` and commit docs/settings.md"


def test_every_path_and_test_the_notes_map_names_exists() -> None:
    # Given every backticked path in the notes map
    named = _PATH.findall(_text(NOTES_MAP))
    assert len(named) > 20, "the notes map names the files and tests behind each topic"
    missing = []
    for whole, test_name in named:
        path = ROOT / whole.split("::")[0]
        # Then the file or folder exists, and a named test is defined in that file
        if not path.exists() or (
            test_name and not re.search(rf"^\s*def {test_name}\(", path.read_text(), flags=re.MULTILINE)
        ):
            missing.append(whole)
    assert not missing, f"the notes map names what does not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target, anchor in _LINK.findall(_text(page)):
        if re.match(r"^[a-z]+:", target):
            continue  # an external address
        linked = (page.parent / target).resolve()
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", _text(linked), flags=re.MULTILINE)
            if anchor not in {_anchor(h) for h in headings}:
                broken.append(f"{target}#{anchor}")
    assert not broken, f"{page.name} links to what does not exist: {broken}"


def test_every_make_target_the_docs_name_exists() -> None:
    named = {target for page in PAGES for target in re.findall(r"`make ([a-z-]+)", _text(page))}
    defined = set(re.findall(r"^([a-z-]+):", MAKEFILE, flags=re.MULTILINE))
    assert named, "the docs name the make targets"
    assert named <= defined, f"the docs name targets the Makefile lacks: {sorted(named - defined)}"


def test_every_documented_make_target_is_described_somewhere() -> None:
    documented = set(re.findall(r"^([a-z-]+):.*## ", MAKEFILE, flags=re.MULTILINE))
    described = {t for page in PAGES for t in re.findall(r"make ([a-z-]+)", _text(page))}
    assert documented <= described, f"targets no page describes: {sorted(documented - described)}"
