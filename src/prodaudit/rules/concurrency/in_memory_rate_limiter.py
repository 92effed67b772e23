from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.multiworker import (
    configured_limit,
    is_queue,
    is_rate_limiter,
    severity_for_workers,
    singleton_evidence,
    web_reached,
    workers_evidence,
    workers_phrase,
)

SLOWAPI = ("slowapi.Limiter", "slowapi.extension.Limiter")


@register
class InMemoryRateLimiter(ProjectRule):
    """
    ## What it does
    Finds rate limiters whose counters live in process memory: a module-level limiter
    object keeping attempts in a dict/defaultdict and changed from request handlers, and
    slowapi's `Limiter` without a shared `storage_uri` (its default is `memory://`).

    ## Why is this bad?
    Each worker counts on its own. With 4 workers a login limit of 5 attempts per minute
    lets an attacker make up to 20, and a restart resets every counter. The limit you
    configured is not the limit you get (seed 003 section 1.3).

    ## Example
    ```python
    from collections import defaultdict

    from fastapi import FastAPI


    class LoginLimiter:
        def __init__(self, max_attempts: int):
            self.max_attempts = max_attempts
            self._attempts = defaultdict(int)

        def hit(self, key: str) -> bool:
            self._attempts[key] += 1
            return self._attempts[key] <= self.max_attempts


    app = FastAPI()
    login_limiter = LoginLimiter(max_attempts=5)


    @app.post("/auth/login")
    async def login(email: str):
        if not login_limiter.hit(email):
            return {"error": "too many attempts"}
        return {"ok": True}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI, Request
    from slowapi import Limiter
    from slowapi.util import get_remote_address

    app = FastAPI()
    limiter = Limiter(key_func=get_remote_address, storage_uri="redis://redis:6379/0")


    @app.post("/auth/login")
    @limiter.limit("5/minute")
    async def login(request: Request, email: str):
        return {"ok": True}
    ```

    ## Known limitations
    A limiter is recognised by its name (limiter, rate_limit, throttle, attempts) or by
    slowapi; a hand-written one under another name is reported by PA101 instead. A
    `storage_uri` that is not a literal or a resolvable constant is assumed to be shared.
    """

    meta = RuleMeta(
        id="PA103", slug="in-memory-rate-limiter", family="concurrency",
        dimension=Dimension.SECURITY, severity=Severity.CRITICAL, confidence=Confidence.MEDIUM,
        summary="rate-limit counters in process memory: the limit multiplies by the worker count",
        effort_minutes=90, cwe=(770,), owasp=("A04:2021",), technology=("fastapi", "slowapi"),
        fix="Keep counters in Redis (slowapi storage_uri='redis://...', fastapi-limiter, or an "
            "atomic INCR with EXPIRE).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        workers = project.workers
        graph = project.callgraph
        for singleton in project.singletons:
            if not web_reached(singleton) or is_queue(singleton) or not is_rate_limiter(singleton):
                continue
            limit = configured_limit(project, singleton)
            label = web_reached(singleton)[0][0]
            if workers.several and limit:
                effect = (f"{workers.count} independent limits: up to {limit * workers.count} "
                          f"attempts per window instead of {limit}")
            elif workers.several:
                effect = f"{workers.count} independent counters, so the limit is {workers.count}x looser"
            else:
                effect = "every added worker multiplies the limit, and a restart resets it"
            yield self.finding(
                f"Rate limiter `{singleton.name}` keeps its counters in process memory ({label}): "
                f"with {workers_phrase(workers)}, {effect}",
                singleton.location,
                severity=severity_for_workers(workers, Severity.CRITICAL, Severity.HIGH, Severity.LOW),
                evidence=[*singleton_evidence(singleton, graph), *workers_evidence(workers)],
                anchor=singleton.key,
                details={"workers": workers.count if workers.count is not None else "unknown",
                         "configured_limit": limit or "unknown"},
            )
        yield from self.slowapi_in_memory(project, workers)

    def slowapi_in_memory(self, project, workers) -> Iterator[Finding]:
        limited = [e for e in project.routes.endpoints if e.rate_limits]
        for module in project.summaries("source"):
            for fact in module.assignments:
                value = fact.value
                if fact.scope or value is None or value.kind != "call" or value.name not in SLOWAPI:
                    continue
                storage = value.keyword("storage_uri")
                uri = project.constant(storage, module) if storage is not None else "memory://"
                if storage is not None and not isinstance(uri, str):
                    continue  # from settings we cannot read: assume it is shared
                if not uri.startswith("memory://"):
                    continue
                users = [e for e in limited if any(r.split(".")[0] == fact.target for r in e.rate_limits)]
                if not users:
                    continue
                where = Location(module.path, fact.line)
                evidence = [Evidence(where, "slowapi Limiter with in-memory storage"
                                     + (" (no storage_uri)" if storage is None else f" ({uri})"))]
                evidence += [Evidence(e.location, f"limits {e.label}: {', '.join(e.rate_limits)}")
                             for e in users[:3]]
                yield self.finding(
                    f"slowapi Limiter `{fact.target}` counts in process memory and limits "
                    f"{len(users)} endpoints: with {workers_phrase(workers)} each worker enforces "
                    f"its own limit",
                    where,
                    severity=severity_for_workers(workers, Severity.CRITICAL, Severity.HIGH, Severity.LOW),
                    evidence=[*evidence, *workers_evidence(workers)],
                    anchor=f"{module.module}:{fact.target}",
                    details={"workers": workers.count if workers.count is not None else "unknown",
                             "endpoints": len(users)},
                )
