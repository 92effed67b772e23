from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Severity
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.reliability.handlers import (
    BASE_EXCEPTION,
    caught_names,
    reraises,
    walk_same_scope,
)

CANCELLED = frozenset({"asyncio.CancelledError", "asyncio.exceptions.CancelledError"})
# Awaiting one of these with task/future arguments is how a cancelled task is reaped.
REAPERS = frozenset({"asyncio.gather", "asyncio.wait", "asyncio.wait_for", "asyncio.shield"})
CONSEQUENCES = {
    "loops": ("the loop keeps running after task.cancel(), so shutdown cannot stop it",
              Severity.MEDIUM),
    "continues": ("the function carries on as if it had not been cancelled", Severity.LOW),
    "ends": (("cancellation looks like normal completion, so asyncio.timeout()/wait_for and "
              "TaskGroup cannot tell it was cancelled"), Severity.LOW),
    "converts": (("cancellation is turned into another exception, so callers see a failure "
                  "instead of a cancellation"), Severity.LOW),
}


@register
class CancellationSwallowed(FileRule):
    """
    ## What it does
    Finds handlers in `async def` code that catch `asyncio.CancelledError` and do not
    re-raise it: a bare `except:`, `except BaseException`, or `except CancelledError`
    (also inside a tuple) around an `await`, with no bare `raise` (or `raise` of the
    caught name) anywhere in the handler. `except Exception` is never reported: since
    Python 3.8 `CancelledError` is not an `Exception`.

    ## Why is this bad?
    Cancellation is how asyncio stops work: `task.cancel()` at shutdown, `asyncio.timeout()`,
    `wait_for`, `TaskGroup` and server shutdown all deliver `CancelledError` at an `await`
    and expect it to propagate. A handler that swallows it keeps the task running (a
    loop carries on after shutdown asked it to stop, so the process hangs until it is
    killed) or makes a timeout silently not fire (seed 004 1.1: bare excepts that make
    a clean shutdown impossible).

    ## Example
    ```python
    import asyncio

    async def poll(queue, handle):
        while True:
            try:
                item = await queue.get()
                await handle(item)
            except BaseException:
                await asyncio.sleep(1)
    ```

    ## Use instead
    ```python
    import asyncio
    import logging

    async def poll(queue, handle):
        while True:
            try:
                item = await queue.get()
                await handle(item)
            except asyncio.CancelledError:
                logging.getLogger(__name__).info("poller stopping")
                raise
            except Exception:
                logging.getLogger(__name__).exception("item failed")
                await asyncio.sleep(1)
    ```

    ## Known limitations
    Only handlers whose `try` body has an `await`, `async for` or `async with` (the only
    places cancellation is delivered). The shutdown idiom `task.cancel()` followed by
    `await task` inside `try/except CancelledError` is not reported, nor is any try that
    only awaits tasks or futures (their own cancellation is expected there), nor a handler
    that calls `uncancel()`. An explicit `except CancelledError` that returns or breaks
    out of its loop is a deliberate stop and is not reported; broad handlers that end
    the task, or turn cancellation into another error, are reported as low.
    `contextlib.suppress(CancelledError)` is not checked.
    """

    meta = RuleMeta(
        id="PA503", slug="cancellation-swallowed", family="reliability",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM,
        summary="CancelledError swallowed in async code: cancellation, timeouts and shutdown break",
        effort_minutes=10, technology=("asyncio",), file_kinds=("source",),
        fix="Re-raise CancelledError after cleanup (`except asyncio.CancelledError: ...; raise`) "
            "and catch `Exception` for errors.",
    )

    def check_module(self, parsed) -> Iterator[Finding]:
        for handler in parsed.nodes(ast.ExceptHandler):
            kind = self._catches_cancellation(parsed, handler)
            if kind is None:
                continue
            function = parsed.enclosing_function(handler)
            if not isinstance(function, ast.AsyncFunctionDef):
                continue  # sync code (also a sync def nested in an async one) is never cancelled
            try_node = parsed.parent(handler)
            if not isinstance(try_node, (ast.Try, ast.TryStar)) or not self._awaits(try_node.body):
                continue
            if reraises(handler) or self._uncancels(handler):
                continue
            if self._reaps_tasks(parsed, try_node, function):
                continue
            outcome = self._outcome(parsed, handler, function)
            explicit = kind == "except CancelledError"
            if explicit and outcome == "ends":
                continue  # a deliberate stop: the task ends when asked to (a common worker idiom)
            scope = parsed.scope_name(function) or function.name
            consequence, severity = CONSEQUENCES[outcome]
            yield self.finding(
                f"`{kind}` in async `{scope}` swallows CancelledError: {consequence}",
                parsed.location(handler),
                anchor=f"{parsed.module}:{scope}:{kind}",
                severity=severity,
                excerpt=parsed.line_text(handler.lineno),
            )

    @staticmethod
    def _outcome(parsed, handler: ast.ExceptHandler, function: ast.AST) -> str:
        """What happens after the handler: converts (raises another error), ends (return /
        break), loops (falls through or `continue`s inside a loop), continues."""
        if any(isinstance(s, ast.Raise) for s in handler.body):
            return "converts"
        if any(isinstance(s, (ast.Return, ast.Break)) for s in handler.body):
            return "ends"
        node = parsed.parent(handler)
        while node is not None and node is not function:
            if isinstance(node, (ast.While, ast.For, ast.AsyncFor)):
                return "loops"
            node = parsed.parent(node)
        return "continues"

    @staticmethod
    def _catches_cancellation(parsed, handler: ast.ExceptHandler) -> str | None:
        if handler.type is None:
            return "except:"
        names = caught_names(parsed, handler)
        if any(name in BASE_EXCEPTION for name in names):
            return "except BaseException"
        if any(name in CANCELLED for name in names):
            return "except CancelledError"
        return None

    @staticmethod
    def _awaits(body: list[ast.stmt]) -> bool:
        return any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in walk_same_scope(body))

    @staticmethod
    def _uncancels(handler: ast.ExceptHandler) -> bool:
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "uncancel"
                   for n in walk_same_scope(handler.body))

    @staticmethod
    def _reaps_tasks(parsed, try_node: ast.Try, function: ast.AsyncFunctionDef) -> bool:
        """The try waits for tasks (`await task`, `await asyncio.gather(*tasks)`) or the
        function cancels something first: the CancelledError caught is theirs."""
        cancels = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                      and n.func.attr == "cancel" and n.lineno <= try_node.lineno
                      for n in walk_same_scope(function.body))
        if cancels:
            return True
        awaited = [n.value for n in walk_same_scope(try_node.body) if isinstance(n, ast.Await)]
        if not awaited or any(isinstance(n, (ast.AsyncFor, ast.AsyncWith)) for n in walk_same_scope(try_node.body)):
            return False
        for value in awaited:
            if isinstance(value, (ast.Name, ast.Attribute)):
                continue  # awaiting a task or future object, not calling a coroutine
            if isinstance(value, ast.Call) and parsed.resolve(value.func) in REAPERS and all(
                    isinstance(a.value if isinstance(a, ast.Starred) else a, (ast.Name, ast.Attribute))
                    for a in value.args):
                continue
            return False
        return True
