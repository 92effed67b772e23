"""Calls that run when a configuration module is imported.

Recorded for modules whose name says they hold configuration (config, settings, conf in
a folder or file name) or that define a pydantic settings class: calls in the module body and in class bodies, in `if`/`try`
blocks, in decorators and in default values of parameters (all evaluated at import), but
not inside function bodies or lambdas, which run later or never. Rules ask these facts
whether importing the settings also opens clients, connections or files.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

CONFIG_PART = re.compile(r"^(config|configs|configuration|settings|setting|conf|cfg)$", re.IGNORECASE)
SETTINGS_BASES = frozenset({"pydantic_settings.BaseSettings", "pydantic.BaseSettings",
                            "pydantic_settings.main.BaseSettings"})


@dataclass(frozen=True)
class ImportTimeCall:
    line: int
    name: str  # resolved through imports: "redis.asyncio.Redis", "open"
    callee: str  # as written
    target: str = ""  # `x = call()` -> "x"
    in_with: bool = False  # used as a context manager (closed at the end of the block)
    mode: str = ""  # open(..., mode): the mode literal when given


def is_config_path(path: str) -> bool:
    parts = path.split("/")
    words = [part for folder in parts[:-1] for part in re.split(r"[_\-.]", folder)]
    words += re.split(r"[_\-.]", parts[-1].removesuffix(".py"))
    return any(CONFIG_PART.match(word) for word in words)


def defines_settings(parsed) -> bool:
    return any(parsed.resolve(base) in SETTINGS_BASES
               for node in parsed.tree.body if isinstance(node, ast.ClassDef) for base in node.bases)


def extract(parsed) -> Iterable[object]:
    if parsed.kind != "source" or not (is_config_path(parsed.path) or defines_settings(parsed)):
        return []
    found: list[ImportTimeCall] = []

    def record(call: ast.Call, target: str = "", in_with: bool = False) -> None:
        callee = _dotted(call.func)
        if callee is None:
            return
        mode = ""
        mode_node = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "mode"), None)
        if isinstance(mode_node, ast.Constant) and isinstance(mode_node.value, str):
            mode = mode_node.value
        found.append(ImportTimeCall(call.lineno, parsed.resolve(call.func) or callee, callee,
                                    target, in_with, mode))

    def expressions(node: ast.AST, target: str = "", in_with: bool = False) -> None:
        """Calls inside an expression evaluated now (lambdas are not)."""
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Lambda):
                continue
            if isinstance(current, ast.Call):
                record(current, target if current is node or _unwrapped(node) is current else "",
                       in_with and current is node)
            stack.extend(ast.iter_child_nodes(current))

    def statements(body: list[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in stmt.decorator_list:
                    expressions(decorator)
                for default in [*stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d)]:
                    expressions(default)
            elif isinstance(stmt, ast.ClassDef):
                for node in [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]:
                    expressions(node)
                statements(stmt.body)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                name = _dotted(targets[0]) or ""
                if stmt.value is not None:
                    expressions(stmt.value, name)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    expressions(item.context_expr, _dotted(item.optional_vars) or "" if item.optional_vars else "",
                                in_with=True)
                statements(stmt.body)
            elif isinstance(stmt, (ast.If, ast.Try, ast.TryStar, ast.For, ast.While)):
                for field in ("test", "iter"):
                    if getattr(stmt, field, None) is not None:
                        expressions(getattr(stmt, field))
                statements(stmt.body)
                statements(stmt.orelse)
                for handler in getattr(stmt, "handlers", []):
                    statements(handler.body)
                statements(getattr(stmt, "finalbody", []))
            elif isinstance(stmt, (ast.Expr, ast.Return, ast.AugAssign)) and stmt.value is not None:
                expressions(stmt.value)
    statements(parsed.tree.body)
    return found


def _unwrapped(node: ast.AST) -> ast.AST:
    return node.value if isinstance(node, ast.Await) else node


def _dotted(node: ast.AST | None) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
