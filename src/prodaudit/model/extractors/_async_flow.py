"""Syntax helpers shared by the concurrency extractors: the nodes of one function body
(never of the functions nested in it), where a coroutine can yield to the event loop,
which `with` blocks hold a lock, and statement order inside blocks.

Not an extractor itself (no `extract`): the extractor loader skips it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from prodaudit.model.values import dotted_name

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
# A context manager or an awaited acquire() named like this is taken to be a lock.
LOCK_NAME = re.compile(r"(lock|mutex|semaphore|sema$|critical_section|serialize)", re.IGNORECASE)
LOCK_TYPES = frozenset({
    "asyncio.Lock", "asyncio.Semaphore", "asyncio.BoundedSemaphore", "asyncio.Condition",
    "anyio.Lock", "anyio.Semaphore", "threading.Lock", "threading.RLock",
    "threading.Semaphore", "threading.BoundedSemaphore", "threading.Condition",
})

Position = tuple[int, int]


def start(node: ast.AST) -> Position:
    return (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))


def end(node: ast.AST) -> Position:
    return (getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0)


def body_nodes(fn: ast.AST) -> list[ast.AST]:
    """Every node of a function's body in source order, not entering nested functions,
    lambdas or classes (their code runs at another time). Several extractors ask for the
    same function, so the list is kept on the node (the tree lives for one summary only)."""
    cached = getattr(fn, "_prodaudit_body", None)
    if cached is not None:
        return cached
    found = []
    stack = list(reversed(getattr(fn, "body", [])))
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, SCOPES):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    fn._prodaudit_body = found
    return found


def by_function(parsed, nodes, async_only: bool = False) -> list[tuple[ast.AST, list[ast.AST]]]:
    """Candidate nodes grouped by the function that runs them (module-level code and
    class bodies are left out): extractors look at the few functions that matter instead
    of walking every one."""
    groups: dict[int, tuple[ast.AST, list[ast.AST]]] = {}
    for node in nodes:
        fn = parsed.enclosing_function(node)
        if fn is None or (async_only and not isinstance(fn, ast.AsyncFunctionDef)):
            continue
        groups.setdefault(id(fn), (fn, []))[1].append(node)
    return list(groups.values())


def local_names(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]]:
    """(locals, declared global/nonlocal) of one function: parameters and the names its own
    body binds. Kept here rather than borrowed from the summary collector, which decides
    locals in its own single pass."""
    bound: set[str] = set()
    declared: set[str] = set()
    args = fn.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            bound.add(arg.arg)
    for node in body_nodes(fn):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs)) and node.name:
            bound.add(node.name)
    return bound - declared, declared


def yield_points(fn: ast.AST) -> list[tuple[Position, ast.AST]]:
    """Where the coroutine can be suspended: each `await`, entering and leaving an
    `async with`, each step of an `async for`, in source order."""
    points: list[tuple[Position, ast.AST]] = []
    for node in body_nodes(fn):
        if isinstance(node, ast.Await):
            points.append((start(node), node))
        elif isinstance(node, ast.AsyncWith):
            points.append((start(node), node))
            points.append((end(node), node))
        elif isinstance(node, ast.AsyncFor):
            points.append((start(node), node))
        elif isinstance(node, ast.comprehension) and node.is_async:
            points.append((start(node.iter), node))
    return sorted(points, key=lambda p: p[0])


def statement_of(node: ast.AST, parent: Callable[[ast.AST], ast.AST | None]) -> ast.stmt | None:
    current: ast.AST | None = node
    while current is not None and not isinstance(current, ast.stmt):
        current = parent(current)
    return current


def ancestors(node: ast.AST, parent: Callable[[ast.AST], ast.AST | None],
              stop: ast.AST) -> list[ast.AST]:
    """node, its parent, ... up to (not including) stop."""
    chain = []
    current: ast.AST | None = node
    while current is not None and current is not stop:
        chain.append(current)
        current = parent(current)
    return chain


def block_of(stmt: ast.AST, parent_node: ast.AST) -> list[ast.stmt] | None:
    """The statement list of parent_node (body, orelse, finalbody, handlers...) holding stmt."""
    for _, value in ast.iter_fields(parent_node):
        if isinstance(value, list) and any(item is stmt for item in value):
            return value
    return None


def precedes_in_block(first: ast.stmt, later: ast.AST, parent: Callable[[ast.AST], ast.AST | None],
                      fn: ast.AST) -> bool:
    """`first` comes before a statement of the same block that contains `later`: when it
    runs, control goes on towards `later` unless it leaves the block."""
    owner = parent(first)
    if owner is None:
        return False
    block = block_of(first, owner)
    if block is None:
        return False
    index = next(i for i, item in enumerate(block) if item is first)
    for node in ancestors(later, parent, fn):
        if parent(node) is owner and any(item is node for item in block[index + 1:]):
            return True
    return False


def on_path_to(point: ast.AST, target: ast.AST, parent: Callable[[ast.AST], ast.AST | None],
               fn: ast.AST) -> bool:
    """False when `point` sits in a branch that cannot lead to `target`: a block that does
    not contain `target` and ends in return/raise/continue/break."""
    target_chain = {id(n) for n in ancestors(target, parent, fn)}
    for node in ancestors(point, parent, fn):
        if id(node) in target_chain:
            return True
        owner = parent(node)
        if owner is None or not isinstance(node, ast.stmt):
            continue
        block = block_of(node, owner)
        if block and isinstance(block[-1], TERMINATORS) and not any(id(s) in target_chain for s in block):
            return False
    return True


def lock_variables(parsed) -> frozenset[str]:
    """Names and self attributes this module binds to a lock object (`self._guard =
    asyncio.Lock()`, `_state_mutex = asyncio.Semaphore(1)`), whatever they are called."""
    found = set()
    for node in parsed.nodes(ast.Assign, ast.AnnAssign):
        value = node.value
        if isinstance(value, ast.Call) and parsed.resolve(value.func) in LOCK_TYPES:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                name = dotted_name(target)
                if name:
                    found.add(name)
    return frozenset(found)


def is_lock_expression(expr: ast.AST, resolve: Callable[[ast.AST], str],
                       known: frozenset[str] = frozenset()) -> bool:
    """`self._lock`, `_locks[key]`, `asyncio.Lock()`, `redis.lock("k")`, `lock_for(user)`,
    or a variable known to hold a lock."""
    node = expr.func if isinstance(expr, ast.Call) else expr
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Call):
        node = node.func
    name = dotted_name(node) or ""
    if isinstance(expr, ast.Call) and resolve(expr.func) in LOCK_TYPES:
        return True
    if name in known:
        return True
    return bool(name) and bool(LOCK_NAME.search(name.rsplit(".", 1)[-1]))


def held_locks(node: ast.AST, parent: Callable[[ast.AST], ast.AST | None], fn: ast.AST,
               resolve: Callable[[ast.AST], str], known: frozenset[str] = frozenset()) -> list[ast.AST]:
    """The lock-like `with` / `async with` statements enclosing node inside fn."""
    found = []
    for ancestor in ancestors(node, parent, fn):
        if isinstance(ancestor, (ast.With, ast.AsyncWith)) and any(
                is_lock_expression(item.context_expr, resolve, known) for item in ancestor.items):
            found.append(ancestor)
    return found
