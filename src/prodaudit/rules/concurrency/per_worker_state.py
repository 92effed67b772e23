from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.multiworker import (
    is_queue,
    is_rate_limiter,
    only_infrastructure,
    severity_for_workers,
    singleton_evidence,
    web_reached,
    workers_evidence,
    workers_phrase,
)


@register
class PerWorkerState(ProjectRule):
    """
    ## What it does
    Finds module-level objects holding mutable in-memory state (dict, list, set, deque,
    defaultdict, caches, or a project class keeping them on `self`) that code reachable
    from a route, bot handler or background job changes at run time. The evidence chain
    names where it is defined, where it is mutated and which entry point reaches it.

    ## Why is this bad?
    Every worker process has its own copy. With `uvicorn --workers 4` a value written by
    one request is invisible to the next request served by another worker, and all of it
    is lost on restart or deploy. It works in development (one process) and breaks in
    production. Critical when the deployment runs more than one worker (the finding
    names the file:line that sets the count), high when the count is unknown.

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()
    sessions = {}


    @app.post("/login")
    async def login(name: str):
        sessions[name] = True
        return {"ok": True}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from redis.asyncio import Redis

    app = FastAPI()
    redis = Redis()


    @app.post("/login")
    async def login(name: str):
        await redis.set(f"session:{name}", 1, ex=3600)
        return {"ok": True}
    ```

    ## Known limitations
    Mutations are found by name through the call graph: state changed through callbacks,
    `getattr`, or objects passed around as arguments is not followed. Rate limiters are
    reported by PA103 and job queues by PA104 instead. Objects whose run-time changes only
    touch per-process infrastructure (clients, pools, locks, health flags, metrics) are
    not reported, and neither is state only bot handlers touch (a polling bot is one
    process). Caches that are only a
    performance aid still lose nothing essential; review and suppress those with a reason.
    """

    meta = RuleMeta(
        id="PA101", slug="per-worker-state", family="concurrency", dimension=Dimension.SCALABILITY,
        severity=Severity.CRITICAL, confidence=Confidence.MEDIUM,
        summary="module-level mutable state changed by handlers: diverges across workers, lost on restart",
        effort_minutes=120, technology=("fastapi", "aiogram"),
        fix="Move the state to Redis or the database (or make it per-request); keep only "
            "immutable or rebuildable caches in process memory.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        workers = project.workers
        graph = project.callgraph
        for singleton in project.singletons:
            if not web_reached(singleton) or is_queue(singleton) or is_rate_limiter(singleton):
                continue
            if only_infrastructure(singleton):
                continue  # per-process clients, pools, health flags: meant to be per worker
            label = web_reached(singleton)[0][0]
            what = f"{singleton.class_name} instance" if singleton.class_name else singleton.kind
            consequence = ("each worker keeps its own copy, and it" if workers.count != 1
                           else "a second worker would get its own copy, and it")
            yield self.finding(
                f"Module-level `{singleton.name}` ({what}) is mutated at run time ({label}): with "
                f"{workers_phrase(workers)} {consequence} is lost on restart",
                singleton.location,
                severity=severity_for_workers(workers, Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM),
                evidence=[*singleton_evidence(singleton, graph), *workers_evidence(workers)],
                anchor=singleton.key,
                details={"workers": workers.count if workers.count is not None else "unknown",
                         "entry_points": len({label for label, _, _ in web_reached(singleton)})},
            )
