"""Local names -> canonical dotted names, from one module's imports.

`from fastapi import APIRouter as R` makes `R` resolve to "fastapi.APIRouter" and
`R.get` to "fastapi.APIRouter.get"; `import sqlalchemy as sa` makes `sa.Column` resolve
to "sqlalchemy.Column". Relative imports are made absolute against the module's dotted
path (its full path from the audit root), which the project model matches to files by
suffix, so both `backend/app/...` and `src/...` layouts work.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

# Library re-exports that name the same thing; canonical form on the right.
CANONICAL_ALIASES = {
    "fastapi.routing.APIRouter": "fastapi.APIRouter",
    "fastapi.applications.FastAPI": "fastapi.FastAPI",
    "fastapi.param_functions.Depends": "fastapi.Depends",
    "fastapi.params.Depends": "fastapi.Depends",
    "fastapi.param_functions.Security": "fastapi.Security",
    "starlette.applications.Starlette": "starlette.Starlette",
    "starlette.routing.Router": "starlette.Router",
    "sqlalchemy.orm.Mapped": "sqlalchemy.orm.Mapped",
    "sqlalchemy.sql.expression.select": "sqlalchemy.select",
    "sqlalchemy.future.select": "sqlalchemy.select",
    "sqlalchemy.sql.select": "sqlalchemy.select",
    "sqlalchemy.sql.text": "sqlalchemy.text",
    "sqlalchemy.sql.expression.text": "sqlalchemy.text",
    "sqlalchemy.schema.Column": "sqlalchemy.Column",
    "sqlalchemy.sql.schema.Column": "sqlalchemy.Column",
    "sqlalchemy.orm.relation": "sqlalchemy.orm.relationship",
    "sqlalchemy.ext.asyncio.engine.create_async_engine": "sqlalchemy.ext.asyncio.create_async_engine",
    "sqlalchemy.engine.create_engine": "sqlalchemy.create_engine",
    "sqlmodel.main.SQLModel": "sqlmodel.SQLModel",
    "pydantic_settings.main.BaseSettings": "pydantic_settings.BaseSettings",
    "aiogram.dispatcher.router.Router": "aiogram.Router",
    "aiogram.dispatcher.dispatcher.Dispatcher": "aiogram.Dispatcher",
}


@dataclass(frozen=True)
class ImportFact:
    """One imported binding: `local` is bound to `target` (absolute dotted name)."""

    local: str
    target: str
    line: int
    # True for `import a.b` (binds `a`), False for `from a import b`.
    is_module_import: bool
    level: int = 0  # relative import level as written
    in_function: bool = False  # imported inside a function or a try (optional imports)


def absolute_module(module_path: str, is_package: bool, level: int, target: str | None) -> str:
    """Resolve `from ..x import y` relative to `module_path` (dotted, from the audit root)."""
    if level == 0:
        return target or ""
    parts = module_path.split(".") if module_path else []
    # A package's __init__ is the package itself: one dot means "this package".
    base = parts if is_package else parts[:-1]
    if level - 1 > 0:
        base = base[: len(base) - (level - 1)] if level - 1 <= len(base) else []
    return ".".join([*base, target] if target else base)


def collect_imports(tree: ast.Module, module_path: str, is_package: bool) -> list[ImportFact]:
    facts: list[ImportFact] = []

    def visit(body: list[ast.stmt], nested: bool) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        facts.append(ImportFact(alias.asname, alias.name, node.lineno, True, 0, nested))
                    else:
                        # `import a.b` binds `a`; `a.b.c` then resolves through it.
                        top = alias.name.split(".")[0]
                        facts.append(ImportFact(top, top, node.lineno, True, 0, nested))
            elif isinstance(node, ast.ImportFrom):
                base = absolute_module(module_path, is_package, node.level, node.module)
                for alias in node.names:
                    if alias.name == "*":
                        facts.append(ImportFact("*", base, node.lineno, False, node.level, nested))
                        continue
                    target = f"{base}.{alias.name}" if base else alias.name
                    facts.append(ImportFact(alias.asname or alias.name, target, node.lineno,
                                            False, node.level, nested))
            elif isinstance(node, (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith)):
                for child_body in _bodies(node):
                    visit(child_body, nested or isinstance(node, (ast.Try, ast.TryStar)))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node.body, True)

    visit(tree.body, False)
    return facts


def _bodies(node: ast.stmt) -> list[list[ast.stmt]]:
    bodies = [getattr(node, "body", []), getattr(node, "orelse", []), getattr(node, "finalbody", [])]
    for handler in getattr(node, "handlers", []):
        bodies.append(handler.body)
    return bodies


class ImportTable:
    """Resolves dotted local names through one module's imports (module-level wins)."""

    def __init__(self, imports: list[ImportFact], module_path: str):
        self.module_path = module_path
        self._bindings: dict[str, str] = {}
        # dotted name -> canonical name: a module names the same few things over and over.
        self._resolved: dict[str, str] = {}
        # Later bindings win, like at run time; function-level imports only fill gaps so
        # that `import requests` inside a function still resolves `requests.get` there.
        for fact in imports:
            if fact.local == "*":
                continue
            if fact.in_function and fact.local in self._bindings:
                continue
            self._bindings[fact.local] = fact.target

    def resolve(self, dotted: str) -> str:
        """Canonical name for `dotted`; unknown heads are returned as written."""
        known = self._resolved.get(dotted)
        if known is not None:
            return known
        head, _, rest = dotted.partition(".")
        target = self._bindings.get(head)
        if target is None:
            resolved = dotted
        else:
            resolved = canonical(f"{target}.{rest}" if rest else target)
        self._resolved[dotted] = resolved
        return resolved

    def is_imported(self, local: str) -> bool:
        return local in self._bindings


# First parts of the aliases: any other name is already canonical.
_ALIAS_HEADS = frozenset(alias.partition(".")[0] for alias in CANONICAL_ALIASES)


def canonical(name: str) -> str:
    target = CANONICAL_ALIASES.get(name)
    if target is not None:
        return target
    dot = name.find(".")
    if dot < 0 or name[:dot] not in _ALIAS_HEADS:
        return name
    # Also map methods of aliased classes: fastapi.routing.APIRouter.get -> fastapi.APIRouter.get
    # No alias is a prefix of another, so at most one prefix of `name` is an alias.
    while dot >= 0:
        target = CANONICAL_ALIASES.get(name[:dot])
        if target is not None:
            return target + name[dot:]
        dot = name.find(".", dot + 1)
    return name
