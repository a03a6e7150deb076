"""Every module under 500 lines and every function under 80, unless a reason is written here.

Measured from the syntax tree of src/, tests/ and benchmarks/: a module's lines as the file
has them; a function's body without its docstring (the signature and the docstring are what a
reader wants long). An entry of `ALLOWED` names a longer module or function and why it stays
long; an entry that is no longer over is an error too, so that the list cannot drift.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("src", "tests", "benchmarks")
MODULE_LINES = 500
FUNCTION_LINES = 80

ALLOWED: dict[str, str] = {
    "tests/deploy/test_workflows.py::test_pull_request_merge_release_dirty_tree_and_rollback": (
        "one story in order (pull request, merge, release, dirty tree, rollback): each step "
        "acts on the repository, the models and the deployment log the step before left"
    ),
}


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the function's end."""
    body = node.body
    if (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    if not body:
        return 0
    return (node.end_lineno or node.lineno) - body[0].lineno + 1


def _functions(tree: ast.AST, prefix: str = "") -> list[tuple[str, int]]:
    """Every function and method, named `Class.method` or `outer.inner`, with its length."""
    found = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append((f"{prefix}{node.name}", _body_lines(node)))
            found += _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            found += _functions(node, f"{prefix}{node.name}.")
        else:
            found += _functions(node, prefix)
    return found


def measure() -> dict[str, int]:
    """The modules and functions over their limit, by `path` or `path::function`."""
    over: dict[str, int] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if ".venv" in path.parts:
                continue
            name = path.relative_to(ROOT).as_posix()
            text = path.read_text(encoding="utf-8")
            lines = len(text.splitlines())
            if lines > MODULE_LINES:
                over[name] = lines
            for function, length in _functions(ast.parse(text)):
                if length > FUNCTION_LINES:
                    over[f"{name}::{function}"] = length
    return over


def test_modules_and_functions_are_short_or_say_why() -> None:
    over = measure()
    unexplained = {k: v for k, v in over.items() if k not in ALLOWED}
    assert not unexplained, (
        f"over {MODULE_LINES} lines (module) or {FUNCTION_LINES} (function body): "
        f"{unexplained}; split them, or add them to ALLOWED with the reason"
    )
    stale = sorted(set(ALLOWED) - set(over))
    assert not stale, f"no longer over the limits: remove them from ALLOWED: {stale}"


def test_the_measure_sees_a_long_function_and_skips_the_docstring() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(81))
    tree = ast.parse(f'def f():\n    """Doc\n\n    more doc\n    """\n{body}\n')
    assert _functions(tree) == [("f", 81)]
    nested = ast.parse("class C:\n    def m(self):\n        def inner():\n            pass\n")
    assert _functions(nested) == [("C.m", 2), ("C.m.inner", 1)]
