from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.multiworker import (
    severity_for_workers,
    workers_evidence,
    workers_phrase,
)


@register
class PerWorkerScheduler(ProjectRule):
    """
    ## What it does
    Finds periodic work started from the web app's lifespan or startup hook: a task
    running a `while True` loop that sleeps between rounds, or a scheduler job (APScheduler `add_job`, aiocron), with
    no distributed lock (a Redis lock, `SET NX`, a PostgreSQL advisory lock, leader
    election) taken in the job or the functions it calls.

    ## Why is this bad?
    The lifespan runs once per worker process. With 4 workers the job runs 4 times, at
    the same moments: four times the database writes and upstream API calls, duplicated
    notifications, rate limits of external APIs exceeded (seed 003 section 1.2).

    ## Example
    ```python
    import asyncio
    from contextlib import asynccontextmanager

    from fastapi import FastAPI


    async def sync_catalog():
        while True:
            await asyncio.sleep(3600)


    @asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(sync_catalog())
        yield
        task.cancel()


    app = FastAPI(lifespan=lifespan)
    ```

    ## Use instead
    ```python
    import asyncio
    from contextlib import asynccontextmanager

    from fastapi import FastAPI


    async def sync_catalog(redis):
        while True:
            async with redis.lock("sync-catalog", timeout=3600, blocking=False):
                pass
            await asyncio.sleep(3600)


    @asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(sync_catalog(app.state.redis))
        yield
        task.cancel()


    app = FastAPI(lifespan=lifespan)
    ```

    ## Known limitations
    A lock is recognised by name (`.lock(`, advisory lock SQL, leader/acquire_lock
    helpers) up to three calls deep; whether it is held for the whole run is not checked.
    Bot processes (one process by design) are not reported.
    """

    meta = RuleMeta(
        id="PA102", slug="per-worker-scheduler", family="concurrency",
        dimension=Dimension.SCALABILITY, severity=Severity.CRITICAL, confidence=Confidence.MEDIUM,
        summary="periodic job started in lifespan/startup without a distributed lock: runs once per worker",
        effort_minutes=120, technology=("fastapi", "apscheduler"),
        fix="Run periodic jobs in one dedicated process (a worker service, cron, arq/Celery beat) "
            "or take a distributed lock (Redis lock, advisory lock) before each run.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        workers = project.workers
        hooks = {h.function: h for h in project.background.hooks if h.framework == "asgi"}
        # Jobs registered by the same function share one scheduler and one fix: one finding.
        groups: dict[tuple[str, str], list] = {}
        for job in project.background.jobs:
            if job.kind not in ("task", "scheduler-job") or job.hook not in hooks:
                continue
            if not job.periodic:
                continue  # a one-off task, or a consumer waiting on a queue (PA104's business)
            if job.lock_evidence:
                continue
            key = (job.started_in, job.kind) if job.kind == "scheduler-job" else (job.target, job.kind)
            groups.setdefault(key, []).append(job)
        for (_, kind), jobs in sorted(groups.items()):
            first = jobs[0]
            hook = hooks[first.hook]
            times = f"{workers.count} times" if workers.several else "once per worker"
            evidence = [Evidence(hook.location, f"{hook.kind} hook registered here")]
            for job in jobs[:6]:
                evidence.append(Evidence(job.location, f"`{job.target.split(':', 1)[-1]}` started "
                                                       f"here ({job.via})"))
                if job.loop_location is not None:
                    evidence.append(Evidence(job.loop_location, "`while True` loop, no lock taken"))
            if kind == "scheduler-job":
                names = ", ".join(f"`{j.target.split(':', 1)[-1]}`" for j in jobs[:5])
                more = f" and {len(jobs) - 5} more" if len(jobs) > 5 else ""
                subject = (f"{len(jobs)} scheduler job{'s' if len(jobs) > 1 else ''} ({names}{more}) "
                           f"registered in `{first.started_in.split(':', 1)[-1]}`")
            else:
                subject = f"Periodic loop `{first.target.split(':', 1)[-1]}`"
            yield self.finding(
                f"{subject} started in the {hook.kind} hook without a distributed lock: with "
                f"{workers_phrase(workers)} {'they run' if len(jobs) > 1 else 'it runs'} {times}",
                first.location,
                severity=severity_for_workers(workers, Severity.CRITICAL, Severity.HIGH, Severity.LOW),
                evidence=[*evidence, *workers_evidence(workers)],
                anchor=first.started_in if kind == "scheduler-job" else first.target,
                details={"workers": workers.count if workers.count is not None else "unknown",
                         "jobs": len(jobs)},
            )
