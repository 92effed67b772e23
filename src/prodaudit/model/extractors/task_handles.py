"""asyncio tasks started in a module, and where their handles could be cancelled.

The generic facts say `app.state.cleanup_task = asyncio.create_task(...)` happened at line
34; a graceful-shutdown question also needs "is that handle ever cancelled, awaited or
handed to something that may cancel it?", which can happen in another module
(`request.app.state.cleanup_task.cancel()`). So each module records its task starts and
the names it *hands on*: attribute and global names loaded anywhere except in harmless
positions (`task.done()`, `if task is None`). A name handed on anywhere counts as
possibly cancelled: that over-approximates, which is the direction a "never cancelled"
claim must err in.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.model.values import dotted_name

TASK_FACTORIES = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
# Methods that inspect a task without stopping or handing it on.
HARMLESS_METHODS = frozenset({"done", "cancelled", "add_done_callback", "remove_done_callback",
                              "result", "exception", "get_name", "set_name", "get_coro"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class TaskStart:
    scope: str  # function qualname ("" at module level)
    line: int
    # Where the task object goes: the dotted assignment target ("task", "self._task",
    # "app.state.cleanup_task"), "" when it is not assigned.
    handle: str
    # discarded (an expression statement), assigned, awaited (finished on the spot), or
    # kept (passed to a call, put in a collection, returned: someone else holds it).
    stored: str
    # For a plain local name: the name is loaded again in the function (cancelled,
    # awaited, handed on) other than in harmless positions.
    used_later: bool = False
    # `global name` makes a plain name a module-level handle.
    is_global: bool = False


@dataclass(frozen=True)
class HandedOnNames:
    """Names (bare, and attribute tails: `cleanup_task` of `app.state.cleanup_task`) this
    module loads in positions where the object may be cancelled or handed on."""

    names: frozenset[str]


def extract(parsed) -> Iterator[object]:
    # Both factories and `.create_task` are spelled out somewhere in a module that starts a
    # task (an import alias still names them): other modules skip the per-call test. Only
    # for ASCII text: Python folds look-alike letters in identifiers (NFKC).
    source = parsed.source
    if not source.isascii() or "create_task" in source or "ensure_future" in source:
        for call in parsed.nodes(ast.Call):
            if _is_task_factory(parsed, call):
                yield _task_start(parsed, call)
    # A set, so the nodes are taken in index order (no sort), and a name already handed on
    # is not looked at again.
    names = set()
    index = parsed.node_index()
    parent = parsed.parent
    for node in index.get(ast.Name, ()):
        if node.id not in names and isinstance(node.ctx, ast.Load) and not _harmless(node, parent(node)):
            names.add(node.id)
    for node in index.get(ast.Attribute, ()):
        if node.attr not in names and isinstance(node.ctx, ast.Load) and not _harmless(node, parent(node)):
            names.add(node.attr)
    yield HandedOnNames(frozenset(names))


def _is_task_factory(parsed, call: ast.Call) -> bool:
    if parsed.resolve(call.func) in TASK_FACTORIES:
        return True
    # `loop.create_task(...)`, `asyncio.get_event_loop().create_task(...)`; not task groups.
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "create_task":
        receiver = func.value
        text = dotted_name(receiver) or (dotted_name(receiver.func) if isinstance(receiver, ast.Call) else "")
        return bool(text) and "loop" in text.lower()
    return False


def _task_start(parsed, call: ast.Call) -> TaskStart:
    function = parsed.enclosing_function(call)
    scope = parsed.scope_name(function) if function is not None else ""
    parent = parsed.parent(call)
    if isinstance(parent, ast.Await):
        return TaskStart(scope, call.lineno, "", "awaited")  # runs to completion right here
    if isinstance(parent, ast.Expr):
        return TaskStart(scope, call.lineno, "", "discarded")
    target = None
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
        target = parent.targets[0]
    elif isinstance(parent, ast.AnnAssign):
        target = parent.target
    handle = dotted_name(target) if target is not None else None
    if not handle:
        return TaskStart(scope, call.lineno, "", "kept")
    is_global = "." not in handle and function is not None and _declares_global(function, handle)
    used = False
    if "." not in handle and function is not None and not is_global:
        used = handle in _handed_on(function, skip=parent)
    return TaskStart(scope, call.lineno, handle, "assigned", used_later=used, is_global=is_global)


def _declares_global(function: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Global) and name in n.names for n in ast.walk(function))


def _handed_on(root: ast.AST, skip: ast.AST | None = None) -> frozenset[str]:
    """Names loaded under `root` anywhere but in harmless positions (nested functions
    included: a closure may cancel the task). `skip` is the statement that starts it."""
    found: set[str] = set()
    parents: dict[int, ast.AST] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node is skip:
            continue
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            stack.append(child)
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load) \
                and not _harmless(node, parents.get(id(node))):
            found.add(node.id if isinstance(node, ast.Name) else node.attr)
    return frozenset(found)


def _harmless(node: ast.AST, parent: ast.AST | None) -> bool:
    if isinstance(parent, ast.Attribute) and parent.value is node:
        if parent.attr in HARMLESS_METHODS:
            return True
        # `a.b` read on the way to `a.b.c`: only the last link is the object in question,
        # except for `.cancel()` and the like, where the receiver is what is acted on.
        return parent.attr not in ("cancel", "close", "aclose", "stop")
    # Truth and identity tests (`if task`, `task is None`) inspect without acting.
    return isinstance(parent, (ast.Compare, ast.BoolOp, ast.If, ast.While, ast.IfExp)) or (
        isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not))
