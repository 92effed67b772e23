from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.multiworker import (
    is_queue,
    severity_for_workers,
    singleton_evidence,
    web_reached,
    workers_evidence,
    workers_phrase,
)


@register
class InMemoryJobQueue(ProjectRule):
    """
    ## What it does
    Finds module-level objects that keep a job queue in process memory (`asyncio.Queue`,
    `queue.Queue`, usually with a dict of job statuses next to it) and that request
    handlers feed.

    ## Why is this bad?
    A job enqueued by the worker that served the request is invisible to the other
    workers: a status request routed elsewhere finds nothing. A restart, deploy or crash
    loses every queued job, with no retry (seed 003 section 1.1).

    ## Example
    ```python
    import asyncio

    from fastapi import FastAPI


    class JobRunner:
        def __init__(self):
            self._queue = asyncio.Queue()
            self._statuses = {}

        async def enqueue(self, job_id: str):
            self._statuses[job_id] = "queued"
            await self._queue.put(job_id)


    app = FastAPI()
    runner = JobRunner()


    @app.post("/jobs")
    async def create_job(job_id: str):
        await runner.enqueue(job_id)
        return {"id": job_id}
    ```

    ## Use instead
    ```python
    from arq import create_pool
    from arq.connections import RedisSettings
    from fastapi import FastAPI

    app = FastAPI()


    @app.post("/jobs")
    async def create_job(job_id: str):
        redis = await create_pool(RedisSettings())
        await redis.enqueue_job("run_job", job_id)
        return {"id": job_id}
    ```

    ## Known limitations
    Only queues held by module-level objects are found; a queue created in the lifespan
    and stored on `app.state` is not yet followed.
    """

    meta = RuleMeta(
        id="PA104", slug="in-memory-job-queue", family="concurrency",
        dimension=Dimension.RELIABILITY, severity=Severity.CRITICAL, confidence=Confidence.MEDIUM,
        summary="job queue and statuses in process memory: lost on restart, invisible to other workers",
        effort_minutes=240, technology=("fastapi",),
        fix="Use a persistent queue (arq, Celery, dramatiq, RQ, or a jobs table) and keep "
            "statuses in Redis or the database.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        workers = project.workers
        graph = project.callgraph
        for singleton in project.singletons:
            if not web_reached(singleton) or not is_queue(singleton):
                continue
            label = web_reached(singleton)[0][0]
            state = ", ".join(f"{a.name} ({a.kind})" for a in singleton.state)
            yield self.finding(
                f"Job queue `{singleton.name}` lives in process memory [{state}] and is fed at run "
                f"time ({label}): with {workers_phrase(workers)} jobs are invisible to the other "
                f"workers, and every queued job is lost on restart",
                singleton.location,
                severity=severity_for_workers(workers, Severity.CRITICAL, Severity.HIGH, Severity.HIGH),
                evidence=[*singleton_evidence(singleton, graph), *workers_evidence(workers)],
                anchor=singleton.key,
                details={"workers": workers.count if workers.count is not None else "unknown"},
            )
