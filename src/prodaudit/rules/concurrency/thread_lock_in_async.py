from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors._async_flow import body_nodes, local_names, start, yield_points
from prodaudit.model.values import dotted_name, source_text
from prodaudit.rules.base import FileRule, RuleMeta, register

THREAD_LOCKS = {
    "threading.Lock": "Lock", "threading.RLock": "RLock", "threading.Semaphore": "Semaphore",
    "threading.BoundedSemaphore": "BoundedSemaphore", "threading.Condition": "Condition",
    "_thread.allocate_lock": "Lock", "_thread.RLock": "RLock",
}
# Owned per thread: every coroutine of the loop is the same thread, so they all get in.
REENTRANT = {"RLock", "Condition"}


@register
class ThreadLockInAsync(FileRule):
    """
    ## What it does
    Finds `threading.Lock`, `RLock`, `Semaphore` or `Condition` acquired inside `async def`,
    with `with lock:` or `lock.acquire()`. The lock's type is followed through
    `self._lock = threading.RLock()` in the class, class attributes and module-level locks.
    Holding it across an `await` is reported as high.

    ## Why is this bad?
    Every coroutine of a worker runs on one thread, the event loop's. A threading lock
    blocks that thread: while another thread holds it, no request of the worker is served.
    Held across an `await`, a non-reentrant `Lock` deadlocks the worker (the second
    coroutine blocks the thread the first one needs to resume), and an `RLock` protects
    nothing at all: it is reentrant per thread, so every other coroutine enters it freely.
    This is exactly the "thread-safe" fix seed 004 recommends for its StateManager
    (`self._lock = threading.RLock()`): wrong advice. Use `asyncio.Lock` with `async with`.

    ## Example
    ```python
    import threading


    class StateManager:
        def __init__(self):
            self._lock = threading.RLock()
            self._users = {}

        async def save(self, user_id, state, storage):
            with self._lock:
                self._users[user_id] = state
                await storage.write(self._users)
    ```

    ## Use instead
    ```python
    import asyncio


    class StateManager:
        def __init__(self):
            self._lock = asyncio.Lock()
            self._users = {}

        async def save(self, user_id, state, storage):
            async with self._lock:
                self._users[user_id] = state
                await storage.write(self._users)
    ```

    ## Known limitations
    A lock imported from another module, or handed in as an argument, is not followed.
    Threading locks in plain `def` functions are not reported, even when the loop calls
    them; `acquire(blocking=False)` never blocks and is not reported.
    """

    meta = RuleMeta(
        id="PA107", slug="thread-lock-in-async", family="concurrency",
        dimension=Dimension.RELIABILITY, severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="threading lock acquired inside async def: blocks the event loop, deadlocks or "
                "protects nothing across await",
        effort_minutes=20, technology=("asyncio",),
        fix="Use asyncio.Lock (`async with self._lock:`) for state shared between coroutines; "
            "keep threading locks for state shared with threads, in sync code, never across an await.",
    )

    def check_module(self, module) -> Iterator[Finding]:
        if "threading" not in module.source and "_thread" not in module.source:
            return
        locks = LockTable(module)
        if not locks.any():
            return
        for fn in module.nodes(ast.AsyncFunctionDef):
            bound, declared = local_names(fn)
            for node in body_nodes(fn):
                if isinstance(node, ast.With):
                    for item in node.items:
                        found = locks.lookup(item.context_expr, fn, bound - declared)
                        if found is not None:
                            held = yield_points(node)
                            yield self._report(module, fn, node, item.context_expr, found, held)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "acquire" and not _non_blocking(node):
                    found = locks.lookup(node.func.value, fn, bound - declared)
                    if found is not None:
                        held = _awaits_until_release(fn, node)
                        yield self._report(module, fn, node, node.func.value, found, held)

    def _report(self, module, fn, node, expr, found, held) -> Finding:
        kind, defined = found
        name = source_text(expr)
        scope = module.scope_name(fn)
        evidence = [Evidence(defined, f"threading.{kind} created here")]
        if held:
            first = held[0][1]
            evidence.append(Evidence(module.location(first), f"awaits while holding it: `{source_text(first)[:60]}`"))
            if kind in REENTRANT:
                consequence = (f"every coroutine runs on the event-loop thread and an {kind} is reentrant "
                               f"per thread, so other coroutines enter it freely: it protects nothing, "
                               f"and it blocks the loop whenever a real thread holds it")
            elif "Semaphore" in kind:
                consequence = ("once its permits are taken, the next coroutine blocks the event-loop thread "
                               "that the holders need to resume: the worker deadlocks")
            else:
                consequence = ("a second coroutine that reaches it blocks the event-loop thread while the "
                               "holder waits to resume there: the worker deadlocks")
            message = f"`{name}` (threading.{kind}) is held across `await` in async `{scope}`: {consequence}"
            severity = Severity.HIGH
        else:
            message = (f"`{name}` (threading.{kind}) is acquired in async `{scope}`: it blocks the event "
                       f"loop whenever another thread holds it, and one `await` added inside turns it "
                       f"into a deadlock; coroutines need asyncio.Lock")
            severity = Severity.MEDIUM
        return self.finding(message, module.location(node), severity=severity, evidence=evidence,
                            anchor=f"{module.module}:{scope}:{name}", excerpt=module.line_text(node.lineno))


class LockTable:
    """Threading locks of one module: module-level names, class attributes, self attributes."""

    def __init__(self, module):
        self.module = module
        self.names: dict[str, tuple[str, Location]] = {}
        self.attrs: dict[int, dict[str, tuple[str, Location]]] = {}  # ClassDef id -> attr -> lock
        self.classes: dict[str, ast.ClassDef] = {}
        for node in module.nodes(ast.Assign, ast.AnnAssign):
            value = node.value
            kind = self._lock_kind(value)
            if kind is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            owner = module.parent(node)
            fn = module.enclosing_function(node)
            for target in targets:
                name = dotted_name(target)
                if name is None:
                    continue
                where = (kind, module.location(node))
                if fn is None and isinstance(owner, ast.ClassDef) and "." not in name:
                    self.attrs.setdefault(id(owner), {})[name] = where
                elif fn is None and "." not in name:
                    self.names[name] = where
                elif fn is not None and name.startswith("self.") and name.count(".") == 1:
                    cls = module.parent(fn)
                    if isinstance(cls, ast.ClassDef):
                        self.attrs.setdefault(id(cls), {})[name[5:]] = where
        for cls in module.nodes(ast.ClassDef):
            self.classes[cls.name] = cls

    def any(self) -> bool:
        return bool(self.names or self.attrs)

    def _lock_kind(self, value: ast.AST | None) -> str | None:
        if not isinstance(value, ast.Call):
            return None
        name = self.module.resolve(value.func)
        if name in THREAD_LOCKS:
            return THREAD_LOCKS[name]
        if name in ("dataclasses.field", "attr.ib", "attrs.field"):  # field(default_factory=threading.Lock)
            for keyword in value.keywords:
                if keyword.arg in ("default_factory", "factory"):
                    return THREAD_LOCKS.get(self.module.resolve(keyword.value))
        return None

    def lookup(self, expr: ast.AST, fn: ast.AST, local: set[str]) -> tuple[str, Location] | None:
        name = dotted_name(expr)
        if name is None:
            return None
        if "." not in name:
            return None if name in local else self.names.get(name)
        head, _, attr = name.partition(".")
        if "." in attr:
            return None
        if head in ("self", "cls"):
            cls = self.module.parent(fn)
            return self.attrs.get(id(cls), {}).get(attr) if isinstance(cls, ast.ClassDef) else None
        cls = self.classes.get(head)
        return self.attrs.get(id(cls), {}).get(attr) if cls is not None and head not in local else None


def _non_blocking(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "blocking" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False:
            return True
    return bool(call.args) and isinstance(call.args[0], ast.Constant) and call.args[0].value is False


def _awaits_until_release(fn: ast.AST, acquire: ast.Call) -> list:
    target = dotted_name(acquire.func.value)
    releases = sorted(start(n) for n in body_nodes(fn) if isinstance(n, ast.Call)
                      and isinstance(n.func, ast.Attribute) and n.func.attr == "release"
                      and dotted_name(n.func.value) == target and start(n) > start(acquire))
    until = releases[0] if releases else (10**9, 0)
    return [p for p in yield_points(fn) if start(acquire) < p[0] < until]
