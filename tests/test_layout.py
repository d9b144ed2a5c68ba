"""The invariants of ARCHITECTURE.md that import-linter does not check: module size, imports at
module level only, one meaning per class name.  (Layers and cycles: `lint-imports`.)"""

from __future__ import annotations

import ast
import collections
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contests", "validators", "forms", "dialogs", "handlers", "bot")
MAX_LINES_OF_CODE = 600


def modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def lines_of_code(source: str) -> int:
    """Lines that hold code: not blank, not only a comment, not a docstring."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        value = node.value if isinstance(node, ast.Expr) else None
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            docstrings.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    code: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in skip or tok.type == tokenize.ENDMARKER:
            continue
        code.update(n for n in range(tok.start[0], tok.end[0] + 1) if n not in docstrings)
    return len(code)


def test_lines_of_code_counts_code_only() -> None:
    source = (
        '"""Doc\n\nstring."""\n\n# a comment\nx = 1  # trailing\n\n'
        'def f():\n    """Doc."""\n    return (\n        x\n    )\n'
    )
    assert lines_of_code(source) == 5


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_600_lines_of_code(path: Path) -> None:
    assert lines_of_code(path.read_text(encoding="utf-8")) <= MAX_LINES_OF_CODE


def inline_project_imports(tree: ast.Module) -> list[str]:
    """Imports of the project inside a function or under ``if TYPE_CHECKING:``."""
    found: list[str] = []

    def visit(node: ast.AST, hidden: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = hidden or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                inside = True
            if isinstance(child, ast.ImportFrom) and inside:
                module = "." * child.level + (child.module or "")
                if child.level or module.split(".")[0] in PACKAGES:
                    found.append(f"line {child.lineno}: from {module} import …")
            elif isinstance(child, ast.Import) and inside:
                names = [a.name for a in child.names if a.name.split(".")[0] in PACKAGES]
                found.extend(f"line {child.lineno}: import {name}" for name in names)
            visit(child, inside)

    visit(tree, False)
    return found


def test_inline_imports_are_found() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot import x\n"
    tree = ast.parse(source + "def f():\n    import handlers.y\n    import json\n")
    assert len(inline_project_imports(tree)) == 2


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_project_is_imported_at_module_level_only(path: Path) -> None:
    """An import hidden in a function or under TYPE_CHECKING is how cycles used to be dodged."""
    assert inline_project_imports(ast.parse(path.read_text(encoding="utf-8"))) == []


def test_one_meaning_per_class_name() -> None:
    where: dict[str, list[str]] = collections.defaultdict(list)
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(ROOT)))
    assert {name: places for name, places in where.items() if len(places) > 1} == {}
