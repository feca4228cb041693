"""Each session fixture is built on one pytest worker: a test the conftest cannot group says its group itself."""

from __future__ import annotations

import ast

from tests.synth import ROOT


def _asks_for_fixtures_by_name(tree: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "getfixturevalue"
        for node in ast.walk(tree)
    )


def _names_a_group(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.Attribute) and node.attr == "xdist_group" for node in ast.walk(tree))


def test_a_test_that_asks_for_fixtures_by_name_says_its_worker_group() -> None:
    # Given the test modules that ask for a fixture by name (request.getfixturevalue): the conftest groups a test by
    # the fixtures it declares, and cannot see these, so without a group of its own such a test would make a second
    # worker build a synthesis and its review again (it once cost the suite 16 s)
    modules = {
        path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted((ROOT / "tests").rglob("test_*.py"))
    }
    by_name = [path for path, tree in modules.items() if _asks_for_fixtures_by_name(tree)]
    assert by_name, "the combination test asks for its environments by name"
    # Then each of them names its xdist group
    assert [str(path.relative_to(ROOT)) for path in by_name if not _names_a_group(modules[path])] == []
