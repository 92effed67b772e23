"""What happens to client-like objects created inside functions: context-managed, closed,
handed on (returned, passed, stored) or dropped; plus each function's local names.

The model's generic facts say `client = httpx.AsyncClient()` was called at line 36; they
do not say whether `client.aclose()` follows, whether `client` is returned to a caller
who owns it, or whether `client` in a function is a local at all (a `for client in ...`
loop variable shadows a module-level client of the same name). Whether a call really
creates a library object is decided later by model/objects.py, across files; here only
calls that may (by their resolved name or a client-like callee name) are recorded, which
keeps summaries small.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.model.objects import OBJECTS
from prodaudit.model.values import dotted_name

CLIENT_LIKE = re.compile(r"(?i)(client|session|connect|engine|pool|redis|smtp|docker)")
CLOSERS = frozenset({"close", "aclose", "dispose", "quit", "shutdown", "disconnect", "terminate",
                     "closeall"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class FunctionLocals:
    scope: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class ObjectUse:
    """A client-like call inside a function and what the function does with its result."""

    scope: str
    line: int
    column: int  # 1-based, like CallFact.column
    callee: str
    # with: a context manager; local: bound to `local`; inline: a method called on it
    # directly (`httpx.Client().get(url)`); returned, yielded, argument, stored
    # (attribute, subscript, global), discarded, other.
    how: str
    local: str = ""
    # For `local`: first line that closes it (close()/aclose()/dispose()/`with local`), 0 if none.
    closed_line: int = 0
    # For `local`: how it leaves the function: returned, yielded, stored, or
    # "argument:<resolved callee>" for each call it is passed to; empty if it does not.
    escapes: tuple[str, ...] = ()


def extract(parsed) -> Iterator[object]:
    # Locals come from the summary's own pass (no second walk per function); client-like
    # calls are found by name among the module's call nodes before any analysis.
    function_locals = parsed.collector.function_locals
    for scope, (bound, _) in sorted(function_locals.items()):
        yield FunctionLocals(scope, tuple(sorted(bound)))
    # A module calls the same few names many times: decide each callee once.
    client_like: dict[str, bool] = {}
    loads: dict[str, list[ast.Name]] | None = None
    for call in parsed.nodes(ast.Call):
        callee = dotted_name(call.func) or ""
        if not callee:
            continue
        wanted = client_like.get(callee)
        if wanted is None:
            resolved = parsed.imports.resolve(callee)
            wanted = client_like[callee] = bool(
                resolved in OBJECTS or CLIENT_LIKE.search(callee.rsplit(".", 1)[-1])
                or CLIENT_LIKE.search(resolved))
        if not wanted:
            continue
        node = _owning_function(parsed, call)
        if node is None:
            continue
        scope = parsed.scope_name(node)
        if not scope:
            continue
        declared = set(function_locals.get(scope, (frozenset(), frozenset()))[1])
        how, local = _use_of(parsed, call, declared)
        if how == "local" and loads is None:
            loads = _loads_by_name(parsed)
        closed, escapes = (0, ()) if how != "local" else _fate(parsed, node, local, loads)
        yield ObjectUse(scope, call.lineno, call.col_offset + 1, callee, how, local, closed, escapes)


def _owning_function(parsed, call: ast.Call):
    """The function whose own body holds the call (None inside a class body or at module
    level, which are other scopes)."""
    current = parsed.parent(call)
    while current is not None:
        if isinstance(current, _FUNCS):
            return current
        if isinstance(current, (ast.ClassDef, ast.Lambda)):
            return None
        current = parsed.parent(current)
    return None


def _use_of(parsed, call: ast.Call, declared: set[str]) -> tuple[str, str]:
    node: ast.AST = call
    parent = parsed.parent(node)
    if isinstance(parent, ast.Await):
        node, parent = parent, parsed.parent(parent)
    if isinstance(parent, ast.withitem):
        return "with", ""
    if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is node:
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        target = targets[0]
        if len(targets) == 1 and isinstance(target, ast.Name) and target.id not in declared:
            return "local", target.id
        return ("stored", "") if isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)) else ("other", "")
    if isinstance(parent, ast.Return):
        return "returned", ""
    if isinstance(parent, (ast.Yield, ast.YieldFrom)):
        return "yielded", ""
    if isinstance(parent, ast.Attribute):
        return "inline", ""
    if isinstance(parent, (ast.Call, ast.keyword, ast.Starred)):
        return "argument", ""
    if isinstance(parent, ast.Expr):
        return "discarded", ""
    return "other", ""


def _loads_by_name(parsed) -> dict[str, list[ast.Name]]:
    """Every `Name` load of the module by name, for `_fate` to look up instead of walking
    each function that keeps a client."""
    found: dict[str, list[ast.Name]] = {}
    for node in parsed.node_index().get(ast.Name, ()):
        if isinstance(node.ctx, ast.Load):
            found.setdefault(node.id, []).append(node)
    return found


def _is_under(parsed, node: ast.AST, root: ast.AST) -> bool:
    current = parsed.parent(node)
    while current is not None:
        if current is root:
            return True
        current = parsed.parent(current)
    return False


def _fate(parsed, fn: ast.AST, name: str, loads: dict[str, list[ast.Name]]) -> tuple[int, tuple[str, ...]]:
    """How a local is released or handed on, anywhere in the function (nested code too)."""
    closed = 0
    escapes: set[str] = set()
    parents = parsed.parent
    # The loads of `name` under fn (decorators and defaults included, as a walk of fn
    # would find them); closed is a minimum and escapes a set, so their order is free.
    for node in loads.get(name, ()):
        if not _is_under(parsed, node, fn):
            continue
        parent = parents(node)
        if isinstance(parent, ast.Attribute):
            caller = parents(parent)
            if parent.attr in CLOSERS and isinstance(caller, ast.Call) and caller.func is parent:
                closed = min(closed, node.lineno) if closed else node.lineno
            continue
        if isinstance(parent, ast.withitem) and parent.context_expr is node:
            closed = min(closed, node.lineno) if closed else node.lineno
            continue
        while isinstance(parent, (ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Starred, ast.keyword)):
            node, parent = parent, parents(parent)
        if isinstance(parent, ast.Return):
            escapes.add("returned")
        elif isinstance(parent, (ast.Yield, ast.YieldFrom)):
            escapes.add("yielded")
        elif isinstance(parent, ast.Call) and parent.func is not node:
            receiver = dotted_name(parent.func)
            escapes.add(f"argument:{parsed.imports.resolve(receiver) if receiver else '<expr>'}")
        elif isinstance(parent, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and parent.value is node:
            escapes.add("stored")
    return closed, tuple(sorted(escapes))
