"""The infrastructure code stays readable: every function fits on a screen."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.synth import ROOT

MAX_FUNCTION_LINES = 60


def function_lengths(path: Path) -> dict[str, int]:
    """Every function and method of a module (qualified by its class) with its length in lines, decorators included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno, *(decorator.lineno for decorator in child.decorator_list)])
                lengths[f"{prefix}{child.name}"] = (child.end_lineno or child.lineno) - first + 1
                visit(child, f"{prefix}{child.name}.")

    visit(tree, "")
    return lengths


def test_the_measure_counts_a_function_from_its_decorator_to_its_last_line(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text("class A:\n    @property\n    def b(self):\n        return 1\n\n\ndef c():\n    pass\n")
    assert function_lengths(module) == {"A.b": 3, "c": 2}


def test_no_function_in_infra_is_longer_than_a_screen() -> None:
    too_long = {
        f"{path.relative_to(ROOT)}::{name}": lines
        for path in sorted((ROOT / "infra").rglob("*.py"))
        for name, lines in function_lengths(path).items()
        if lines > MAX_FUNCTION_LINES
    }
    assert too_long == {}, f"split these into well-named parts (at most {MAX_FUNCTION_LINES} lines each)"


def test_only_the_synthesis_entry_point_reads_cdk_json() -> None:
    # Every caller (app.py, the tests, the tools) gets settings and feature flags through infra/synthesis.py.
    readers = sorted(
        str(path.relative_to(ROOT))
        for folder in ("infra", "tools", "tests", "bench")
        for path in (ROOT / folder).rglob("*.py")
        if '"cdk.json"' in path.read_text(encoding="utf-8") and path != Path(__file__)
    )
    assert readers == ["infra/synthesis.py"]
    assert '"cdk.json"' not in (ROOT / "app.py").read_text(encoding="utf-8")
