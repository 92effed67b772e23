"""Test functions and what they check: asserts, pytest.raises, unittest asserts and mock
asserts, so readiness can count tests that assert nothing or only mocks (seed 004 6.1)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

MOCK_ASSERTS = ("assert_called", "assert_called_once", "assert_called_with", "assert_called_once_with",
                "assert_any_call", "assert_has_calls", "assert_not_called", "assert_awaited",
                "assert_awaited_once", "assert_awaited_with", "assert_awaited_once_with")


@dataclass(frozen=True)
class TestCaseFact:
    qualname: str
    line: int
    asserts: int  # assert statements, unittest self.assert*, pytest.raises/warns/approx blocks
    mock_asserts: int  # mock.assert_called... only


def _checks(fn: ast.AST) -> tuple[int, int]:
    asserts = mocks = 0
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            asserts += 1
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in MOCK_ASSERTS:
                mocks += 1
            elif name.startswith(("assert", "fail")) or name in ("raises", "warns", "deprecated_call"):
                asserts += 1
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id.startswith("assert"):
            asserts += 1  # helper functions named assert_* (common in test suites)
    return asserts, mocks


def _is_fixture(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`@pytest.fixture`, `@fixture(scope=...)`, `@pytest_asyncio.fixture`: a function
    named test_* that pytest injects, never runs as a test."""
    for decorator in fn.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("fixture", "yield_fixture"):
            return True
    return False


def extract(parsed) -> Iterator[TestCaseFact]:
    # pytest collects tests from test modules, never from conftest.py (fixtures, hooks).
    if parsed.kind != "test" or parsed.path.rsplit("/", 1)[-1] == "conftest.py":
        return
    for node in parsed.tree.body:
        candidates: list[tuple[str, ast.AST]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            candidates.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                    candidates.append((f"{node.name}.{item.name}", item))
        for qualname, fn in candidates:
            if _is_fixture(fn):
                continue
            asserts, mocks = _checks(fn)
            yield TestCaseFact(qualname, fn.lineno, asserts, mocks)
