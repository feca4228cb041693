"""Render every setting (path, default, description) as a Markdown table; `--write` puts it into its page.

The table is generated from the settings models (infra/config/reference.py), so it cannot drift from them; a test
checks that the page holds the current table.
"""

from __future__ import annotations

import sys
from pathlib import Path

from infra.config import settings_reference

ROOT = Path(__file__).resolve().parent.parent
# The page that holds the table, between the two markers.
PAGE = ROOT / "docs" / "settings.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def render() -> str:
    """The settings table, one row per leaf setting, in the order the model declares them."""
    lines = ["| setting | default | what it does |", "|---|---|---|"]
    for path, default, description in settings_reference():
        escaped = description.replace("|", "\\|")
        lines.append(f"| `{path}` | `{default}` | {escaped} |")
    return "\n".join(lines)


def embed(page: str) -> str:
    """`page` with the text between the settings markers replaced by the current table."""
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"error: {PAGE.name} has no {START} marker")
    return f"{head}{START}\n{render()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    """Print the table, or with `--write` put it into PAGE between the markers."""
    if argv == ["--write"]:
        PAGE.write_text(embed(PAGE.read_text()))
        return 0
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
