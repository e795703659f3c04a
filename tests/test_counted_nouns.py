"""Counts in messages and reports carry their noun in the right number: "1 problem", "2 problems".

Audit 40A read "1 counted prior line(s)" as a template left unfilled; the same "(s)" was in the
contract's refusal ("1 problem(s) in the screening dataset"), the CLI's summaries and the reports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lifileucel_analysis
from lifileucel_analysis.contract.messages import counted, noun_for

PACKAGE = Path(lifileucel_analysis.__file__).parent


@pytest.mark.parametrize(("n", "noun", "many", "expected"), [
    (0, "problem", None, "0 problems"),
    (1, "problem", None, "1 problem"),
    (2, "problem", None, "2 problems"),
    (10240, "problem", None, "10,240 problems"),
    (1, "outcome is", "outcomes are", "1 outcome is"),
    (3, "outcome is", "outcomes are", "3 outcomes are"),
    (1, "patient keeps its", "patients keep their", "1 patient keeps its"),
    (0, "patient keeps its", "patients keep their", "0 patients keep their"),
])
def test_counted(n: int, noun: str, many: str | None, expected: str) -> None:
    assert counted(n, noun, many) == expected


def test_noun_for_gives_the_noun_alone() -> None:
    assert [noun_for(n, "row") for n in (0, 1, 2)] == ["rows", "row", "rows"]
    assert [noun_for(n, "repeats", "repeat") for n in (1, 2)] == ["repeats", "repeat"]


def _strings_outside_docstrings(tree: ast.AST) -> list[tuple[int, str]]:
    # A string standing alone as a statement is a docstring (of a module, class, function or attribute).
    docstrings = {id(node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_message_says_s_in_brackets() -> None:
    # Docstrings and comments may say "column(s)"; a string the package prints or writes may not.
    found = [f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line, text in _strings_outside_docstrings(ast.parse(path.read_text(encoding="utf-8")))
             if "(s)" in text]
    assert not found, "\n".join(found)
