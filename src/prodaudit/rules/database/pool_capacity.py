from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.queries import import_closure, web_app_modules
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# Server defaults when nothing in the repository sets the limit.
DEFAULT_MAX_CONNECTIONS = {"postgresql": 100, "mysql": 151, "mariadb": 151}
SERVER_NAMES = {"postgresql": "PostgreSQL", "mysql": "MySQL", "mariadb": "MariaDB"}
REFUSAL = {
    "postgresql": '"FATAL: sorry, too many clients already"',
    "mysql": '"Too many connections" (error 1040)',
    "mariadb": '"Too many connections" (error 1040)',
}
# Above this share of the server's limit, migrations, psql sessions, monitoring and other
# services have little room left.
THIN_HEADROOM = 0.8
SCRIPT_DIRS = frozenset({"scripts", "script", "tools", "bin", "alembic", "migrations", "examples"})


@register
class PoolCapacity(ProjectRule):
    """
    ## What it does
    Does the connection-pool arithmetic of every SQLAlchemy engine the web app creates:
    per worker process `pool_size + max_overflow` connections, times the number of worker
    processes the deployment starts, against the database server's `max_connections`
    (the value passed with `-c max_connections=` in compose or a mounted config file, else
    the server default: 100 for PostgreSQL). Every number used is quoted with the file and
    line it comes from, or named as a default.

    ## Why is this bad?
    Each worker process has its own pool. When all workers together may open more
    connections than the server accepts, a burst of traffic makes the server refuse the
    extra ones (PostgreSQL: "FATAL: sorry, too many clients already"), and those requests
    fail. Below that limit, the pool is still a queue: a worker's concurrent database work
    beyond `pool_size + max_overflow` waits up to `pool_timeout` (30 s by default) for a
    free connection, then fails with `sqlalchemy.exc.TimeoutError` ("QueuePool limit of
    size 5 overflow 10 reached"). Requests are slowed, not lost, until that timeout: how
    many users that means depends on how long each request holds its connection, which
    static reading cannot know, so no user count is claimed.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import create_async_engine

    # Dockerfile: CMD ["uvicorn", "example:app", "--workers", "4"]
    # 4 workers x (20 + 10) = 120 connections > PostgreSQL's default max_connections 100
    engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_size=20, max_overflow=10)
    app = FastAPI()
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    # PgBouncer (transaction pooling) owns the server connections; the app keeps no pool.
    engine = create_async_engine("postgresql+asyncpg://app@pgbouncer:6432/app", poolclass=NullPool)
    app = FastAPI()
    ```
    Or size the pools so that workers x (pool_size + max_overflow) stays well below
    `max_connections` (say 4 x (10 + 5) = 60 of 100), or raise `max_connections` on the
    server. A pool within the limit is still reported, at info severity, as one row of the
    capacity table: its queueing behaviour (pool_timeout) is a fact worth knowing.

    ## Known limitations
    The worker count is what the deployment files in the repository say (Dockerfile,
    compose, Procfile, gunicorn config, k8s replicas); other processes that open their own
    pools (Celery workers, bots, cron scripts) are not added. Values read from environment
    variables are computed with their defaults. When `settings.db_pool_size` cannot be
    traced to its object (a factory the settings model does not follow), the one settings
    field of that name is assumed, and the finding says so at medium confidence. Without a
    worker count, the finding states the per-worker capacity only; `NullPool` engines and
    SQLite are skipped. PostgreSQL keeps 3 of `max_connections` for superusers by default;
    the comparison uses the full number.
    """

    meta = RuleMeta(
        id="PA301", slug="pool-capacity", family="database",
        dimension=Dimension.SCALABILITY, severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="workers x (pool_size + max_overflow) against the database's max_connections; "
                "pool queueing up to pool_timeout",
        effort_minutes=30, technology=("sqlalchemy", "postgresql"),
        fix="Size the pools so workers x (pool_size + max_overflow) stays below the server's "
            "max_connections with headroom, or add PgBouncer, or raise max_connections.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        # Engines of one module with the same numbers give the same arithmetic: one finding.
        groups: dict[tuple, list] = {}
        for engine in self.web_engines(project):
            key = (engine.location.path, engine.pool_size.value, engine.max_overflow.value,
                   engine.pool_timeout.value, engine.pool_size.known, engine.max_overflow.known)
            groups.setdefault(key, []).append(engine)
        for engines in groups.values():
            finding = self.check_engine(project, engines[0])
            if finding is None:
                continue
            others = [Evidence(e.location, f"engine `{e.target or 'engine'}` created here with the "
                                           "same pool settings") for e in engines[1:]]
            if others:
                finding = replace(finding, evidence=finding.evidence + tuple(others))
            yield finding

    # -- which engines serve requests ----------------------------------------------------------
    @staticmethod
    def web_engines(project) -> list:
        engines = [e for e in project.settings.engines()
                   if e.module_kind == "source" and not e.uses_null_pool
                   and (e.dialect or "").split("+")[0] != "sqlite"]
        apps = web_app_modules(project)
        if apps:
            closure = import_closure(project, apps)
            served = [e for e in engines if e.location.path in closure]
            if served:
                return served
        return [e for e in engines if not SCRIPT_DIRS & set(e.location.path.split("/")[:-1])]

    # -- one engine ------------------------------------------------------------------------------
    def check_engine(self, project, engine) -> Finding | None:
        pool_size = self.traced(project, engine, "pool_size", engine.pool_size)
        overflow = self.traced(project, engine, "max_overflow", engine.max_overflow)
        timeout = self.traced(project, engine, "pool_timeout", engine.pool_timeout)
        name = engine.target or "engine"
        if not (pool_size.known and overflow.known) or not isinstance(pool_size.value, int) \
                or not isinstance(overflow.value, int):
            # No arithmetic on unknown numbers; say what is unknown, for the capacity table.
            unknown = [f"{label} ({value.source})" for label, value in
                       (("pool_size", pool_size), ("max_overflow", overflow)) if not value.known]
            return self.finding(
                f"Pool capacity of engine `{name}` cannot be computed: {'; '.join(unknown)}",
                engine.location, severity=Severity.INFO, confidence=Confidence.LOW,
                evidence=[Evidence(engine.location, f"engine `{name}` created here")],
                anchor=f"{engine.location.path}:{name}",
                details={"engine": name, "pool_size": "unknown", "max_overflow": "unknown",
                         "workers": project.workers.count if project.workers.count is not None else "unknown"})
        workers = project.workers
        server, limit, limit_where, limit_source = self.server_limit(project, engine)
        # Numbers taken from a settings field by name, not traced: say so in the confidence.
        assumed = any("(assumed:" in r.source for r in (pool_size, overflow))
        confidence = Confidence.MEDIUM if assumed else None
        evidence = [Evidence(engine.location, f"engine `{name}` created here")]
        evidence += self.number_evidence("pool_size", pool_size)
        evidence += self.number_evidence("max_overflow", overflow)
        evidence += self.number_evidence("pool_timeout", timeout)
        if workers.location is not None:
            evidence.append(Evidence(workers.location, f"workers = {workers.count}: {workers.source}"))
        if limit_where is not None:
            evidence.append(Evidence(limit_where, f"max_connections = {limit}: {limit_source}"))
        unbounded = pool_size.value == 0 or overflow.value < 0
        per_worker = None if unbounded else pool_size.value + overflow.value
        count = workers.count
        total = per_worker * count if per_worker is not None and count else None
        wait = (f"{timeout.value:g} s" if timeout.known and isinstance(timeout.value, (int, float))
                else "pool_timeout")
        details: dict[str, str | int | float | bool] = {
            "engine": name, "pool_size": pool_size.value, "max_overflow": overflow.value,
            "per_worker": per_worker if per_worker is not None else "unbounded",
            "workers": count if count is not None else "unknown",
            "total": total if total is not None else ("unbounded" if unbounded else "unknown"),
            "max_connections": limit if limit is not None else "unknown",
            "max_connections_source": limit_source,
            "pool_timeout": timeout.value if timeout.known and timeout.value is not None else "unknown",
        }
        location = self.fix_location(engine)
        anchor = f"{engine.location.path}:{name}"
        numbers = f"pool_size {pool_size.value} + max_overflow {overflow.value}"
        queue_note = (f"a worker's concurrent DB sessions beyond {per_worker} wait up to {wait} "
                      f"for a connection, then fail with sqlalchemy.exc.TimeoutError (\"QueuePool "
                      f"limit of size {pool_size.value} overflow {overflow.value} reached\")")
        refusal = REFUSAL.get(server or "", "a connection error")
        if unbounded:
            reason = "pool_size=0" if pool_size.value == 0 else "max_overflow=-1"
            limit_text = (f"{SERVER_NAMES.get(server or '', 'the server')}'s max_connections "
                          f"{limit}" if limit else "the server's connection limit")
            return self.finding(
                f"Engine `{name}` has no upper bound on connections ({reason}): a burst of "
                f"concurrent requests opens connections until {limit_text} refuses them with {refusal}",
                location, severity=Severity.HIGH, confidence=confidence, evidence=evidence, anchor=anchor,
                details=details)
        if count is None:
            return self.finding(
                f"Engine `{name}` allows {per_worker} connections per worker process ({numbers}); "
                f"the number of worker processes is unknown ({workers.source}); {queue_note}",
                location, severity=Severity.INFO, confidence=Confidence.MEDIUM,
                evidence=evidence, anchor=anchor, details=details)
        workers_text = f"{count} worker{'s' if count != 1 else ''} x ({numbers}) = {total} connections"
        if limit is not None and total > limit:
            steady = count * pool_size.value
            severity = Severity.CRITICAL if steady > limit else Severity.HIGH
            return self.finding(
                f"{workers_text}, above {SERVER_NAMES[server]} max_connections {limit} "
                f"({limit_source}): under load the connections beyond {limit} are refused with "
                f"{refusal}, and the requests holding them fail",
                location, severity=severity, confidence=confidence, evidence=evidence, anchor=anchor,
                details=details)
        if limit is not None and total > THIN_HEADROOM * limit:
            return self.finding(
                f"{workers_text} of {SERVER_NAMES[server]} max_connections {limit} ({limit_source}): "
                f"little room is left for migrations, admin sessions and other services; {queue_note}",
                location, severity=Severity.MEDIUM, confidence=confidence, evidence=evidence, anchor=anchor,
                details=details)
        limit_text = (f", within {SERVER_NAMES[server]} max_connections {limit} ({limit_source})"
                      if limit is not None else "")
        return self.finding(
            f"Pool capacity of `{name}`: {workers_text}{limit_text}; {queue_note}",
            location, severity=Severity.INFO, confidence=confidence, evidence=evidence, anchor=anchor,
            details=details)

    @staticmethod
    def traced(project, engine, keyword: str, resolved):
        """When `settings.db_pool_size` cannot be followed to its object (a factory the
        settings model does not read), fall back to the one settings field of that name
        with a known default, and say so in the source."""
        if resolved.known or not resolved.chain:
            return resolved
        where = resolved.chain[0]
        match = re.search(rf"\b{keyword}\s*=\s*([\w.]+)", project.line(where.path, where.line))
        if match is None or "." not in match.group(1):
            return resolved
        attribute = match.group(1).rsplit(".", 1)[1]
        settings = project.settings
        fields = [f for f in [*settings.fields(), *settings.config_attributes()]
                  if f.name == attribute and f.default.known and f.module_kind == "source"]
        values = {f.default.value for f in fields}
        if len(values) != 1:
            return resolved
        field = fields[0]
        owner = f"{field.class_qualname}." if field.class_qualname else ""
        return replace(
            resolved, value=field.default.value, known=True, location=field.location,
            source=f"default of `{owner}{attribute}` at {field.location} (assumed: "
                   f"`{match.group(1)}` could not be traced to that object)",
            chain=(*resolved.chain, field.location))

    @staticmethod
    def fix_location(engine) -> Location:
        chain = engine.pool_size.chain
        if chain and chain[0].path == engine.location.path and chain[0].line != engine.location.line:
            return chain[0]
        return engine.location

    @staticmethod
    def number_evidence(label: str, resolved) -> list[Evidence]:
        where = resolved.location or (resolved.chain[0] if resolved.chain else None)
        if where is None:
            return []
        shown = resolved.value if resolved.known else "unknown"
        return [Evidence(where, f"{label} = {shown}: {resolved.source}")]

    @staticmethod
    def server_limit(project, engine) -> tuple[str | None, int | None, Location | None, str]:
        """(server kind, max_connections, where it is set, how it is known)."""
        dialect = (engine.dialect or "").split("+")[0]
        service = project.deployment.database_service()
        server = {"postgres": "postgresql", "postgresql": "postgresql", "mysql": "mysql",
                  "mariadb": "mariadb"}.get(dialect)
        if server is None and service is not None:
            server = {"postgres": "postgresql", "mysql": "mysql"}.get(service.kind)
        if server is None:
            return None, None, None, "database server unknown"
        if service is not None and service.max_connections is not None \
                and {"postgres": "postgresql"}.get(service.kind, service.kind) == server:
            return (server, service.max_connections, service.max_connections_location,
                    f"set for service `{service.name}` at {service.max_connections_location}")
        default = DEFAULT_MAX_CONNECTIONS[server]
        where = (f"no max_connections setting for service `{service.name}`"
                 if service is not None else "no database service in the repository")
        return server, default, None, f"{SERVER_NAMES[server]} default {default}; {where}"
