"""Render every setting (path, default, description) as the README's Markdown table; `--write` updates README.md."""

from __future__ import annotations

import sys
from pathlib import Path

from infra.config import settings_reference

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def render() -> str:
    """The settings table, one row per leaf setting, in the order the model declares them."""
    lines = ["| setting | default | what it does |", "|---|---|---|"]
    for path, default, description in settings_reference():
        escaped = description.replace("|", "\\|")
        lines.append(f"| `{path}` | `{default}` | {escaped} |")
    return "\n".join(lines)


def embed(readme: str) -> str:
    """`readme` with the text between the settings markers replaced by the current table."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"error: README.md has no {START} marker")
    return f"{head}{START}\n{render()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    """Print the table, or with `--write` put it into README.md between the markers."""
    if argv == ["--write"]:
        README.write_text(embed(README.read_text()))
        return 0
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
