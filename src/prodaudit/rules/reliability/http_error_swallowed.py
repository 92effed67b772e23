from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Severity
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.reliability.handlers import (
    BASE_EXCEPTION,
    EXCEPTION,
    caught_names,
    enclosing_try,
    reraises,
    walk_same_scope,
)

HTTP_EXCEPTIONS = frozenset({
    "fastapi.HTTPException", "fastapi.exceptions.HTTPException",
    "starlette.exceptions.HTTPException",
})


@register
class HttpErrorSwallowed(FileRule):
    """
    ## What it does
    Finds `raise HTTPException(...)` (FastAPI/Starlette) inside a `try` whose first
    handler able to catch it is `except Exception`, `except BaseException` or a bare
    `except:` in the same function, and that handler neither re-raises (bare `raise`,
    `raise <caught name>`) nor has an `except HTTPException: raise` before it.

    ## Why is this bad?
    The 404/403/409 the code meant to send never leaves the function. If the broad
    handler raises its own error, every client error becomes a 500 (alerts fire, clients
    retry requests that can never succeed); if it logs and returns, the request
    *succeeds*: the permission or limit check that raised was silently bypassed and the
    client gets a 200.

    ## Example
    ```python
    from fastapi import APIRouter, HTTPException

    router = APIRouter()

    @router.get("/orders/{order_id}")
    async def get_order(order_id: int, repo=None):
        try:
            order = await repo.get(order_id)
            if order is None:
                raise HTTPException(status_code=404, detail="order not found")
            return order
        except Exception as exc:
            raise HTTPException(status_code=500, detail=str(exc))
    ```

    ## Use instead
    ```python
    from fastapi import APIRouter, HTTPException

    router = APIRouter()

    @router.get("/orders/{order_id}")
    async def get_order(order_id: int, repo=None):
        try:
            order = await repo.get(order_id)
        except Exception as exc:
            raise HTTPException(status_code=500, detail="storage error") from exc
        if order is None:
            raise HTTPException(status_code=404, detail="order not found")
        return order
    ```

    ## Known limitations
    Only `HTTPException` itself (not project subclasses or other error-response
    exceptions) raised directly in the same function; an HTTPException raised by a called
    function and caught by a broad handler is not followed. A handler that inspects the
    caught exception (`isinstance(e, HTTPException)`, `e.status_code`) is trusted.
    """

    meta = RuleMeta(
        id="PA512", slug="http-error-swallowed", family="reliability",
        dimension=Dimension.RELIABILITY, severity=Severity.HIGH,
        summary="HTTPException raised inside a try whose broad except catches it: 4xx becomes 500 or success",
        effort_minutes=10, technology=("fastapi",), file_kinds=("source",),
        fix="Add `except HTTPException: raise` before the broad handler, or move the raise out "
            "of the try.",
    )

    def check_module(self, parsed) -> Iterator[Finding]:
        for node in parsed.nodes(ast.Raise):
            status = self._http_exception(parsed, node)
            if status is None:
                continue
            handler = self._first_catcher(parsed, node)
            if handler is None or not self._is_broad(parsed, handler):
                continue
            if reraises(handler) or self._inspects(parsed, handler):
                continue
            raised = [n for n in walk_same_scope(handler.body) if isinstance(n, ast.Raise)]
            statuses = {self._http_exception(parsed, n) for n in raised}
            if raised and statuses == {status}:
                continue  # re-raised with the same status: the client gets what was meant
            function = parsed.enclosing_function(node)
            scope = parsed.scope_name(function) if function is not None else "<module>"
            caught = "except:" if handler.type is None else f"except {', '.join(caught_names(parsed, handler))}"
            if not raised:
                outcome = f"swallowed: the request goes on and the client never gets the {status}"
            elif None in statuses:
                outcome = "replaced by another error (a 500)"
            else:
                outcome = f"replaced by HTTPException({', '.join(sorted(s for s in statuses if s))})"
            converts = bool(raised)
            yield self.finding(
                f"HTTPException({status}) in `{scope}` is caught by `{caught}` at line "
                f"{handler.lineno} and {outcome}",
                parsed.location(node),
                evidence=[Evidence(parsed.location(handler), f"`{caught}` catches it and does not re-raise",
                                   parsed.line_text(handler.lineno))],
                anchor=f"{parsed.module}:{scope}:HTTPException({status})",
                severity=Severity.MEDIUM if converts else None,
                excerpt=parsed.line_text(node.lineno),
            )

    @staticmethod
    def _http_exception(parsed, node: ast.Raise) -> str | None:
        exc = node.exc
        target = exc.func if isinstance(exc, ast.Call) else exc
        if target is None or parsed.resolve(target) not in HTTP_EXCEPTIONS:
            return None
        status = None
        if isinstance(exc, ast.Call):
            status = exc.args[0] if exc.args else next(
                (kw.value for kw in exc.keywords if kw.arg == "status_code"), None)
        if isinstance(status, ast.Constant):
            return str(status.value)
        if isinstance(status, ast.Attribute):
            return status.attr  # status.HTTP_404_NOT_FOUND
        return "..."

    def _first_catcher(self, parsed, node: ast.Raise) -> ast.ExceptHandler | None:
        """The handler that catches an HTTPException raised at `node`, innermost try first."""
        for try_node in enclosing_try(parsed, node):
            for handler in try_node.handlers:
                if handler.type is None or self._is_broad(parsed, handler) or any(
                        name in HTTP_EXCEPTIONS for name in caught_names(parsed, handler)):
                    return handler
        return None

    @staticmethod
    def _is_broad(parsed, handler: ast.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        names = caught_names(parsed, handler)
        if any(name in HTTP_EXCEPTIONS for name in names):
            return False  # lists HTTPException itself: deliberate handling
        return any(name in EXCEPTION | BASE_EXCEPTION for name in names)

    @staticmethod
    def _inspects(parsed, handler: ast.ExceptHandler) -> bool:
        """The handler looks at what it caught: `isinstance(e, HTTPException)`,
        `e.status_code`; it may well pass client errors on."""
        for node in walk_same_scope(handler.body):
            parent = parsed.parent(node)
            constructed = isinstance(parent, ast.Call) and parent.func is node
            if isinstance(node, ast.Name) and not constructed \
                    and parsed.resolve(node) in HTTP_EXCEPTIONS:
                return True  # mentioned (isinstance, except clause), not just constructed
            if (handler.name and isinstance(node, ast.Attribute) and node.attr in ("status_code", "detail")
                    and isinstance(node.value, ast.Name) and node.value.id == handler.name):
                return True
        return False
