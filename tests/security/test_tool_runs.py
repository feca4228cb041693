"""The gate's external tools run on copies of the templates, and a test session remembers what they printed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tools.security.tool_runs import ToolCache, copy_name, run_on_copies

FILES = {"sandbox/Storage.template.json": '{"Resources": {}}', "cfnlintrc.yaml": "regions: [us-east-1]\n"}


class Tool:
    """A stand-in tool that lists the files it was given, and counts its runs."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, folder: Path) -> str:
        self.runs += 1
        return "\n".join(f"{p.relative_to(folder).as_posix()}={p.read_text()}" for p in sorted(folder.rglob("*.*")))


def test_the_tool_reads_the_copies_under_their_names_and_its_output_is_kept(tmp_path: Path) -> None:
    cache, tool = ToolCache(tmp_path / "cache"), Tool()
    first = run_on_copies(["lint", "1.0"], FILES, tool, cache)
    assert first == 'cfnlintrc.yaml=regions: [us-east-1]\n\nsandbox/Storage.template.json={"Resources": {}}'
    # The same tool over the same text: the kept output, and the tool does not start
    assert run_on_copies(["lint", "1.0"], dict(reversed(FILES.items())), tool, cache) == first
    assert tool.runs == 1


@pytest.mark.parametrize(
    ("identity", "files"),
    [
        (["lint", "1.1"], FILES),  # another version
        (["lint", "1.0", "--strict"], FILES),  # other arguments
        (["lint", "1.0"], {**FILES, "cfnlintrc.yaml": "regions: [eu-west-1]\n"}),  # another configuration
        (["lint", "1.0"], {**FILES, "sandbox/Storage.template.json": '{"Resources": {"B": {}}}'}),  # a template
        (["lint", "1.0"], {"prod/Storage.template.json": '{"Resources": {}}', "cfnlintrc.yaml": "regions: []\n"}),
    ],
)
def test_anything_the_tool_reads_or_is_changed_starts_it_again(
    tmp_path: Path, identity: list[str], files: dict[str, str]
) -> None:
    cache, tool = ToolCache(tmp_path / "cache"), Tool()
    run_on_copies(["lint", "1.0"], FILES, tool, cache)
    run_on_copies(identity, files, tool, cache)
    assert tool.runs == 2


def test_a_failed_run_is_not_kept(tmp_path: Path) -> None:
    cache = ToolCache(tmp_path / "cache")

    def failing(folder: Path) -> str:
        raise RuntimeError("the tool failed")

    with pytest.raises(RuntimeError, match="the tool failed"):
        run_on_copies(["lint", "1.0"], FILES, failing, cache)
    assert not (tmp_path / "cache").exists()
    tool = Tool()
    run_on_copies(["lint", "1.0"], FILES, tool, cache)
    assert tool.runs == 1


def test_without_a_cache_the_tool_runs_every_time(tmp_path: Path) -> None:
    tool = Tool()
    run_on_copies(["lint", "1.0"], FILES, tool)
    run_on_copies(["lint", "1.0"], FILES, tool)
    assert tool.runs == 2


def test_only_the_most_recently_used_entries_are_kept(tmp_path: Path) -> None:
    cache = ToolCache(tmp_path / "cache", keep=2)
    run_on_copies(["lint", "1.0"], FILES, Tool(), cache)
    run_on_copies(["lint", "2.0"], FILES, Tool(), cache)
    for age, entry in enumerate(sorted((tmp_path / "cache").glob("*.gz"))):  # give them distinct times
        os.utime(entry, (time.time() - 100 * (age + 1),) * 2)
    # Reading version 1.0's entry makes it the most recently used
    tool = Tool()
    run_on_copies(["lint", "1.0"], FILES, tool, cache)
    assert tool.runs == 0
    # So a third entry pushes out version 2.0's
    run_on_copies(["lint", "3.0"], FILES, Tool(), cache)
    assert len(list((tmp_path / "cache").glob("*.gz"))) == 2
    again = Tool()
    run_on_copies(["lint", "1.0"], FILES, again, cache)
    run_on_copies(["lint", "2.0"], FILES, again, cache)
    assert again.runs == 1


def test_a_copy_needs_plain_environment_and_stack_names() -> None:
    assert copy_name("sandbox", "MlDataLake-sandbox-Storage") == "sandbox/MlDataLake-sandbox-Storage.template.json"
    with pytest.raises(ValueError, match="environment '\\*' / stack 'S': a template copy needs plain names"):
        copy_name("*", "S")
