from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Severity
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.reliability.handlers import (
    BASE_EXCEPTION,
    EXCEPTION,
    callee_text,
    caught_names,
    names_loaded,
    raises_anything,
    walk_same_scope,
)

ERROR_METHODS = frozenset({"error", "critical", "fatal"})
LOGGER_NAME = re.compile(r"^_*(log|logger)$|_logger$|^logger_", re.IGNORECASE)
# Calls in a handler that already record the traceback somewhere.
TRACEBACK_CALLS = re.compile(r"(^traceback\.|capture_exception$|\.exception$|^exception$|print_exc$|"
                             r"format_exc$|exc_info$)")


@register
class LogWithoutTraceback(FileRule):
    """
    ## What it does
    Finds `log.error(...)` / `log.critical(...)` calls in an `except` block that log the
    caught exception's text (`f"... {e}"`, `"...", e`, `str(e)`) without `exc_info` and
    without re-raising, so the traceback is lost. `log.exception(...)`, any call with
    `exc_info=...`, a `traceback`/Sentry call in the handler, or any `raise` in it are
    fine.

    ## Why is this bad?
    The log says *what* failed (`'NoneType' object has no attribute 'id'`) but not
    *where*: the traceback is the only record of the failing line, and it is gone. Seed
    002 counted 79 such handlers; debugging each production incident starts with adding
    the traceback and waiting for it to happen again.

    ## Example
    ```python
    import logging

    log = logging.getLogger(__name__)

    def sync_orders(client):
        try:
            client.sync()
        except Exception as e:
            log.error(f"sync failed: {e}")
    ```

    ## Use instead
    ```python
    import logging

    log = logging.getLogger(__name__)

    def sync_orders(client):
        try:
            client.sync()
        except Exception:
            log.exception("sync failed")
    ```

    ## Known limitations
    Loggers are recognised by name (`log`, `logger`, `self.logger`, `app_logger`, the
    `logging` module). Handlers for specific exceptions are reported as info: logging
    only the message of an expected error (a validation error) is often deliberate.
    Warnings are not reported.
    """

    meta = RuleMeta(
        id="PA509", slug="log-without-traceback", family="reliability",
        dimension=Dimension.OBSERVABILITY, severity=Severity.LOW,
        summary="exception logged with log.error(f'... {e}') without exc_info: the traceback is lost",
        effort_minutes=2, file_kinds=("source",),
        fix="Use log.exception('...') (or exc_info=True) so the traceback is logged.",
    )

    def check_module(self, parsed) -> Iterator[Finding]:
        for handler in parsed.nodes(ast.ExceptHandler):
            if not handler.name or raises_anything(handler):
                continue
            calls = [n for n in walk_same_scope(handler.body) if isinstance(n, ast.Call)]
            if any(self._keeps_traceback(call) for call in calls):
                continue
            for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
                if self._logs_message_only(parsed, call, handler.name):
                    yield self._report(parsed, handler, call)
                    break  # one fix per handler

    def _report(self, parsed, handler: ast.ExceptHandler, call: ast.Call) -> Finding:
        names = caught_names(parsed, handler)
        broad = handler.type is None or any(n in BASE_EXCEPTION | EXCEPTION for n in names)
        function = parsed.enclosing_function(handler)
        scope = parsed.scope_name(function) if function is not None else "<module>"
        method = call.func.attr if isinstance(call.func, ast.Attribute) else "error"
        caught = ", ".join(names) or "everything"
        return self.finding(
            f"`{callee_text(call)}` logs only the text of `{handler.name}` ({caught}) in "
            f"`{scope}`: the traceback is lost",
            parsed.location(call),
            anchor=f"{parsed.module}:{scope}:{method}",
            severity=None if broad else Severity.INFO,
            excerpt=parsed.line_text(call.lineno),
        )

    @staticmethod
    def _keeps_traceback(call: ast.Call) -> bool:
        if any(kw.arg in ("exc_info", "exception") for kw in call.keywords):
            return True
        text = callee_text(call) or ""
        if isinstance(call.func, ast.Attribute) and not text:
            text = "." + call.func.attr  # `get_logger().exception(...)`
        return bool(TRACEBACK_CALLS.search(text))

    @staticmethod
    def _logs_message_only(parsed, call: ast.Call, caught: str) -> bool:
        func = call.func
        if not isinstance(func, ast.Attribute) or func.attr not in ERROR_METHODS:
            return False
        receiver = func.value
        receiver_text = callee_text(call).rpartition(".")[0]
        if not receiver_text:
            return False  # `get_logger().error(...)`, `logger.opt(...).error(...)`
        resolved = parsed.resolve(receiver)
        is_logger = resolved in ("logging", "structlog", "loguru.logger") or bool(
            LOGGER_NAME.search(receiver_text.rpartition(".")[2]))
        if not is_logger or isinstance(receiver, ast.Call):
            return False
        arguments = [*call.args, *(kw.value for kw in call.keywords)]
        return caught in names_loaded(arguments)
