from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.lifecycle import ObjectUse
from prodaudit.model.objects import Bound
from prodaudit.rules.asyncio.clients import NOT_CONSTRUCTORS
from prodaudit.rules.asyncio.event_loop import one_off_module
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# Objects that hold sockets or database connections until closed.
CLOSABLE_KINDS = {"http-client", "redis-client", "db-engine", "db-pool", "db-session", "db-connection",
                  "smtp", "docker"}
# Long-lived (module-level or stored) objects worth closing at shutdown: HTTP clients, whose
# unclosed pools aiohttp and httpx warn about. A never-closed global Redis client or engine
# is released by the process exit.
LONG_LIVED_FAMILIES = {"httpx", "aiohttp"}
# Calls that use an object passed to them without taking it over: the caller still has to
# close it (`sessionmaker(bind=engine)` does not dispose the engine).
BORROWERS = {"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.Session", "sqlalchemy.ext.asyncio.async_sessionmaker",
             "sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.orm.scoped_session", "sqlmodel.Session",
             "print", "len", "str", "repr", "isinstance", "id", "type", "bool", "hasattr", "getattr"}
LOG_METHODS = ("debug", "info", "warning", "error", "exception", "critical", "log")
NOUN = {"redis-client": "Redis client", "db-engine": "SQLAlchemy engine", "db-pool": "connection pool",
        "db-session": "Session", "db-connection": "database connection", "smtp": "SMTP connection",
        "docker": "docker client"}
HELD = {
    "http-client": "its connection pool and sockets stay open until garbage collection",
    "redis-client": "its connections stay open until garbage collection",
    "db-engine": "its connection pool stays open and its database connections leak",
    "db-pool": "its database connections stay open and leak",
    "db-session": "its connection goes back to the pool only when the garbage collector finds it "
                  "(SQLAlchemy warns; async drivers can leak it)",
    "db-connection": "the database connection stays open until garbage collection",
    "smtp": "the SMTP connection is left open",
    "docker": "its HTTP connection to the Docker daemon stays open",
}


@register
class ClientNotClosed(ProjectRule):
    """
    ## What it does
    Finds clients, sessions and connections created inside a function without a context
    manager (`with`/`async with`) and never closed: no `close()`/`aclose()`/`dispose()` on
    that name in the function, not returned, passed on or stored for someone else to
    close, or used inline (`httpx.Client().get(url)`). Covers HTTP clients, Redis clients,
    SQLAlchemy engines and sessions (also from a `sessionmaker`), DB-API connections,
    smtplib and docker clients. Module-level HTTP clients (and ones stored on `self` or in
    a global) that nothing in the project ever closes are reported as low.

    ## Why is this bad?
    The object owns sockets or database connections. Left to the garbage collector they
    stay open longer than needed, connections are not returned to the pool in time, and
    async clients cannot be closed from a finalizer at all: aiohttp logs "Unclosed client
    session", asyncpg connections leak until the pool is exhausted (seed 001 #6).

    ## Example
    ```python
    import httpx


    async def fetch_rates(url: str) -> dict:
        client = httpx.AsyncClient(timeout=5)
        response = await client.get(url)
        return response.json()
    ```

    ## Use instead
    ```python
    import httpx


    async def fetch_rates(url: str) -> dict:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(url)
        return response.json()
    ```

    ## Known limitations
    Scripts, CLIs and migrations (by path, an Alembic revision, or `asyncio.run` at
    module level) are not checked: the process ends right after. The check is per
    function and does not follow control flow: a `close()` anywhere in
    the function counts (even if an exception can skip it), and an object passed to any
    call is assumed to be closed by the callee. A long-lived client counts as closed if any
    code calls a close method through a name or attribute of the same name.
    """

    needs = ("lifecycle",)
    meta = RuleMeta(
        id="PA204", slug="client-not-closed", family="asyncio",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="client/session/connection created without a context manager and never closed",
        effort_minutes=10, technology=("httpx", "aiohttp", "sqlalchemy", "redis"),
        fix="Use `async with` / `with`, or close it in a `finally:`; for a shared client, close "
            "it in the shutdown half of the lifespan.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        closes = cache(lambda: _close_calls(project))  # a scan of every call: only when asked
        for module in project.summaries("source"):
            if one_off_module(module):
                continue  # a script or migration: the process ends right after
            calls = {(c.scope, c.line, c.column): c for c in module.calls}
            for use in module.facts_of(ObjectUse):
                call = calls.get((use.scope, use.line, use.column))
                if call is None or call.name in NOT_CONSTRUCTORS:
                    continue
                bound = project.objects.created_by(module, call)
                if bound is None or not bound.fresh or bound.obj.kind not in CLOSABLE_KINDS:
                    continue  # a shared client reached through a getter is not this function's to close
                if bound.obj.kind == "db-session" and call.callee.rsplit(".", 1)[-1] == "begin":
                    continue
                finding = self._per_function(module, use, call, bound)
                if finding is None and use.how == "stored" and bound.obj.family in LONG_LIVED_FAMILIES:
                    finding = self._long_lived(module, call.target, Location(module.path, call.line),
                                               bound, closes, f"{module.module}:{use.scope}")
                if finding is not None:
                    yield finding
            for fact in module.assignments:
                if fact.scope or fact.value is None or fact.value.kind != "call":
                    continue
                bound = project.objects.of_value(module, "", fact.value)
                if bound is None or bound.obj.family not in LONG_LIVED_FAMILIES or fact.value.name in NOT_CONSTRUCTORS:
                    continue
                if bound.location != Location(module.path, fact.value.line):
                    continue  # made elsewhere (a factory's product): judged where it is made
                finding = self._long_lived(module, fact.target, Location(module.path, fact.line), bound,
                                           closes, f"{module.module}:{fact.target}")
                if finding is not None:
                    yield finding

    def _per_function(self, module, use: ObjectUse, call, bound: Bound) -> Finding | None:
        if use.how == "local":
            if use.closed_line or any(_hands_over(e) for e in use.escapes):
                return None
            leak = f"bound to `{use.local}`, never closed" + (
                " (yielded to the caller, who does not own it)" if "yielded" in use.escapes else "")
        elif use.how == "inline":
            leak = f"used inline (`{call.callee}...`) and never closed"
        elif use.how == "yielded":
            leak = "yielded and never closed after the yield"
        else:
            return None
        obj = bound.obj
        closer = obj.closers[0]
        where = Location(module.path, call.line)
        evidence = [Evidence(where, f"`{obj.label}` created here, {leak}")]
        if bound.location != where:
            evidence.append(Evidence(bound.location, bound.how))
        noun = NOUN.get(obj.kind, obj.label)
        made = f"`{call.callee}(...)`"
        subject = made if call.callee.rsplit(".", 1)[-1] == noun.rsplit(".", 1)[-1] else f"The {noun} from {made}"
        return self.finding(
            f"{subject} in `{use.scope}` is never closed (no `with`, no `{closer}()`): {HELD[obj.kind]}"
            + (" (aiohttp logs 'Unclosed client session')" if obj.family == "aiohttp" else ""),
            where, evidence=evidence, anchor=f"{module.module}:{use.scope}:{obj.name}",
            details={"client": obj.name, "binding": use.how},
        )

    def _long_lived(self, module, target: str, where: Location, bound: Bound,
                    closes: Callable[[], set[str]], anchor: str) -> Finding | None:
        attribute = target.rsplit(".", 1)[-1]
        if not attribute or attribute in closes():
            return None
        obj = bound.obj
        return self.finding(
            f"`{target}` ({obj.label}) is never closed anywhere in the project: its connections are "
            f"dropped at exit instead of closed, and tests or reloads leak them",
            where, severity=Severity.LOW,
            evidence=[Evidence(where, f"`{obj.label}` created here and kept in `{target}`"),
                      Evidence(where, f"no `{target.rsplit('.', 1)[-1]}.{obj.closers[0]}()` found in any module")],
            anchor=anchor, details={"client": obj.name, "binding": "long-lived"},
        )


def _close_calls(project) -> set[str]:
    """Names things are closed through anywhere: `http.aclose()`, `self.client.close()`,
    `await app.state.http.aclose()` and `atexit.register(client.close)` all count for the
    last name before the close method."""
    closers = {"close", "aclose", "dispose", "quit", "shutdown", "disconnect", "terminate", "closeall"}
    names: set[str] = set()
    for module in project.summaries():
        for call in module.calls:
            receiver, _, method = call.callee.rpartition(".")
            if method in closers and receiver:
                names.add(receiver.rsplit(".", 1)[-1])
            # Every value nested in the arguments (the order does not matter for a set).
            pending = [*call.args, *(v for _, v in call.keywords)]
            while pending:
                item = pending.pop()
                if item.kind == "attr":
                    head, _, tail = item.text.rpartition(".")
                    if tail in closers and head:
                        names.add(head.rsplit(".", 1)[-1])
                if item.items:
                    pending.extend(item.items)
                if item.keywords:
                    pending.extend(v for _, v in item.keywords)
    return names


def _hands_over(escape: str) -> bool:
    """Whether the object leaves the function for someone else to close."""
    if escape in ("returned", "stored"):
        return True
    if not escape.startswith("argument:"):
        return False
    receiver = escape.split(":", 1)[1]
    return receiver not in BORROWERS and receiver.rsplit(".", 1)[-1] not in LOG_METHODS
