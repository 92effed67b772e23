from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class NoGracefulShutdown(ProjectRule):
    """
    ## What it does
    Finds background work and clients the app starts in its lifespan or startup hook
    and never stops at shutdown:
    - an `asyncio.create_task` running a `while True` loop whose task object is dropped,
      or stored (a local, `app.state.x`, `self._x`, a global) but never cancelled,
      awaited or handed on anywhere in the project;
    - a client (httpx, aiohttp, Redis, asyncpg pool, SQLAlchemy engine) created in a
      startup hook, stored in an attribute or global, and never closed (`.close()`,
      `.aclose()`, `.dispose()`) anywhere.

    ## Why is this bad?
    On a deploy or scale-down the server runs the lifespan's shutdown half and then stops
    the event loop. A loop nobody cancels keeps running while shutdown disposes of the
    database engine and closes the clients it uses, fails on them, and is finally killed
    mid-iteration ("Task was destroyed but it is pending"), possibly between two writes
    that belong together (seed 001 #16: graceful shutdown with cleanup of resources).
    Unclosed clients drop their connections instead of closing them.

    ## Example
    ```python
    import asyncio
    from contextlib import asynccontextmanager

    from fastapi import FastAPI


    async def refresh_prices():
        while True:
            await asyncio.sleep(60)


    @asynccontextmanager
    async def lifespan(app):
        app.state.refresher = asyncio.create_task(refresh_prices())
        yield


    app = FastAPI(lifespan=lifespan)
    ```

    ## Use instead
    ```python
    import asyncio
    import contextlib
    from contextlib import asynccontextmanager

    from fastapi import FastAPI


    async def refresh_prices():
        while True:
            await asyncio.sleep(60)


    @asynccontextmanager
    async def lifespan(app):
        app.state.refresher = asyncio.create_task(refresh_prices())
        yield
        app.state.refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app.state.refresher
    ```

    ## Known limitations
    A handle counts as stopped when its name is cancelled, awaited or passed on anywhere
    in the project (`.cancel()` in an unrelated class with the same attribute name
    hides a finding). One-off tasks (no `while True` loop) are not reported: they end
    on their own. Bots that poll without signal handling, APScheduler schedulers and
    locals holding clients are not checked.
    """

    needs = ("task_handles",)
    meta = RuleMeta(
        id="PA505", slug="no-graceful-shutdown", family="reliability",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM,
        summary="task or client started at startup and never cancelled/closed at shutdown",
        effort_minutes=20, technology=("fastapi", "asyncio"),
        fix="In the lifespan after `yield` (or a shutdown hook): cancel the task and await it "
            "(`task.cancel(); with suppress(CancelledError): await task`), close clients.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        model = project.shutdown
        graph = project.callgraph
        for task in model.tasks:
            job = task.job
            if task.stopped or job.loop_location is None:
                continue
            target = job.target.split(":", 1)[-1]
            kept = (f"stored in `{task.handle}` and cancelled nowhere" if task.handle
                    else "its task object is dropped")
            evidence = [Evidence(job.location, f"task started here ({job.via})"),
                        Evidence(job.loop_location, f"`{target}` runs a `while True` loop"),
                        Evidence(task.hook.location, f"{task.hook.kind} hook registered here")]
            evidence += self._shutdown_evidence(project, graph, task.hook)
            yield self.finding(
                f"Task `{target}` started in the {task.hook.kind} hook is never cancelled at "
                f"shutdown ({kept}): it keeps running while shutdown closes what it uses, "
                f"then is killed mid-iteration",
                job.location, evidence=evidence, anchor=f"task:{job.target}",
            )
        for client in model.clients:
            if client.closed:
                continue
            evidence = [Evidence(client.hook.location, f"{client.hook.kind} hook registered here"),
                        *self._shutdown_evidence(project, graph, client.hook)]
            yield self.finding(
                f"`{client.constructor}` created at startup in `{client.handle}` is never closed "
                f"at shutdown: its connections are dropped instead of closed",
                client.location, evidence=evidence, severity=Severity.LOW,
                anchor=f"client:{client.handle}",
                fix="Close it after the lifespan's `yield` (or in a shutdown hook): "
                    "`await client.aclose()` / `.close()` / `await engine.dispose()`.",
            )

    @staticmethod
    def _shutdown_evidence(project, graph, started_by) -> list[Evidence]:
        """The shutdown code that should stop it: hooks registered in the same file as the
        starting hook (the same app), else every shutdown hook and lifespan."""
        stopping = [h for h in project.background.hooks if h.kind in ("shutdown", "lifespan")]
        same_file = [h for h in stopping if h.location.path == started_by.location.path]
        found = []
        for hook in same_file or stopping:
            node = graph.nodes.get(hook.function)
            where = node.location if node is not None else hook.location
            role = ("shutdown hook: does not stop it" if hook.kind == "shutdown"
                    else "lifespan: its shutdown part (after `yield`) does not stop it")
            found.append(Evidence(where, role))
        if not found:
            found.append(Evidence(started_by.location,
                                  "no shutdown hook and no lifespan: nothing runs at shutdown"))
        return found
