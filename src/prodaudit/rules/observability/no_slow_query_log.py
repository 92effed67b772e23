from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

CURSOR_EVENTS = ("before_cursor_execute", "after_cursor_execute")


@register
class NoSlowQueryLog(ProjectRule):
    """
    ## What it does
    Reports a project that creates a SQLAlchemy engine but registers no query timing:
    no `event.listen`/`@event.listens_for` on before_cursor_execute or
    after_cursor_execute, no OpenTelemetry/Sentry SQLAlchemy instrumentation, and no
    `log_min_duration_statement` in the deployment files.

    ## Why is this bad?
    Slow queries stay invisible until the pool is exhausted; nobody can tell which query
    degraded after a data growth or a missing index (seed 001 #43).

    ## Example
    ```python
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")
    ```

    ## Use instead
    ```python
    import time

    from sqlalchemy import event
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://db/app")


    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def start_timer(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.monotonic()
    ```

    ## Known limitations
    Database-side settings applied outside the repository (managed PostgreSQL parameters)
    are not seen; suppress with that reason.
    """

    meta = RuleMeta(
        id="PA805", slug="no-slow-query-log", family="observability", dimension=Dimension.OBSERVABILITY,
        severity=Severity.INFO, summary="no slow-query logging on the database engine", effort_minutes=60,
        fix="Time queries with a cursor event listener (or OpenTelemetry SQLAlchemy instrumentation) "
            "and log the slow ones; or set log_min_duration_statement.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        engines = [e for e in project.settings.engines() if e.module_kind == "source"]
        if not engines:
            return
        for module in project.summaries("source"):
            for call in module.calls:
                if (call.name.startswith("sqlalchemy.event.") or call.callee.endswith(("listens_for", "listen"))) \
                        and any(a.const in CURSOR_EVENTS for a in call.args):
                    return
            for fact in module.imports:
                if fact.target.startswith(("opentelemetry.instrumentation.sqlalchemy", "sentry_sdk")):
                    return
        for file in project.files_of_kind("deploy", "config"):
            if "log_min_duration_statement" in (project.read_text(file.path) or ""):
                return
        engine = engines[0]
        yield self.finding(
            "No slow-query logging: no cursor event listener or SQL instrumentation on the engine",
            engine.location, anchor="no-slow-query-log",
            evidence=[Evidence(engine.location, "engine created here"),
                      Evidence(Location(""), "searched for event listeners on before/after_cursor_execute, "
                                             "SQLAlchemy instrumentation and log_min_duration_statement: none")])
