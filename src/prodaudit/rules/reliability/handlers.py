"""Questions about `except` handlers that several reliability rules ask (PA503, PA509,
PA512). Not a rule: syntax helpers over one module's tree, so each rule reads the same
answer to "does this handler re-raise?".
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.model.values import dotted_name

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
BASE_EXCEPTION = frozenset({"BaseException", "builtins.BaseException"})
EXCEPTION = frozenset({"Exception", "builtins.Exception"})


def walk_same_scope(nodes: list[ast.AST] | ast.AST) -> Iterator[ast.AST]:
    """Every node under `nodes`, without entering nested functions, lambdas or classes
    (their bodies run at another time, so they say nothing about this handler)."""
    stack = list(nodes) if isinstance(nodes, list) else [nodes]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def caught_names(parsed, handler: ast.ExceptHandler) -> list[str]:
    """Resolved names of the exception types a handler lists; [] for a bare `except:`."""
    if handler.type is None:
        return []
    elts = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [parsed.resolve(e) or "<expr>" for e in elts]


def reraises(handler: ast.ExceptHandler, chained: bool = False) -> bool:
    """A bare `raise` or `raise <caught name>` anywhere in the handler body; with
    `chained`, also `raise Other(...) from <caught name>`."""
    for node in walk_same_scope(handler.body):
        if not isinstance(node, ast.Raise):
            continue
        if node.exc is None:
            return True
        if handler.name and isinstance(node.exc, ast.Name) and node.exc.id == handler.name:
            return True
        if chained and handler.name and isinstance(node.cause, ast.Name) and node.cause.id == handler.name:
            return True
    return False


def raises_anything(handler: ast.ExceptHandler) -> bool:
    return any(isinstance(node, ast.Raise) for node in walk_same_scope(handler.body))


def enclosing_try(parsed, node: ast.AST) -> Iterator[ast.Try]:
    """The `try` statements whose *body* holds `node`, innermost first, within its function
    (a handler's, else's or finally's code is not protected by that try's handlers)."""
    child = node
    parent = parsed.parent(child)
    while parent is not None and not isinstance(parent, _SCOPES):
        if isinstance(parent, (ast.Try, ast.TryStar)) and any(child is stmt for stmt in parent.body):
            yield parent
        child, parent = parent, parsed.parent(parent)


def names_loaded(nodes: list[ast.AST] | ast.AST) -> set[str]:
    return {n.id for n in walk_same_scope(nodes) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def callee_text(call: ast.Call) -> str:
    return dotted_name(call.func) or ""
