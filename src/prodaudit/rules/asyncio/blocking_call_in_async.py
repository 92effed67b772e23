from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from prodaudit.findings import Dimension, Finding, Severity
from prodaudit.rules.asyncio.event_loop import (
    FILE,
    HTTP,
    SDK,
    SLEEP,
    SUBPROCESS,
    entry_reach,
    grouped,
    loop_blocks,
    summarize_group,
    worst,
)
from prodaudit.rules.base import BridgedRule, ProjectRule, RuleMeta, register

CATEGORIES = (SLEEP, HTTP, SUBPROCESS, FILE, SDK)
CONSEQUENCE = {
    SLEEP: "the whole worker sleeps with it",
    HTTP: "every other request of this worker waits for the upstream",
    SUBPROCESS: "every other request of this worker waits for the process",
    SDK: "every other request of this worker waits for the remote API",
    FILE: "the loop stalls for the disk read/write",
}
HOOK_CONSEQUENCE = ("it runs in a lifespan/startup/shutdown hook, so it delays the worker's start or stop "
                    "(and any task already running on the loop), not requests")


@register
class BlockingCallInAsync(BridgedRule, ProjectRule):
    """
    ## What it does
    Finds blocking calls made on the event loop: `time.sleep`, `requests`/`urllib`/sync
    `httpx`, `open()` and `Path.read_text`/`write_text`, `subprocess`/`os.system`
    (bridged from ruff ASYNC210-ASYNC251), sync SDK clients ruff does not know (docker,
    boto3, smtplib, the supabase sync client, sync OpenAI-style clients, a
    `requests.Session`) and, one call level deep, an `async def` calling a sync project
    function that does any of these.

    ## Why is this bad?
    An `async def` runs on the event loop. While it blocks, no other request or message
    of that worker is served: one slow HTTP call or a `time.sleep(3)` freezes every user
    of the process. Moving the blocking call into a small sync helper does not change
    that; only running it in a thread does.

    ## Example
    ```python
    import time


    def wait_for_slot():
        time.sleep(1)


    async def handler():
        wait_for_slot()
    ```

    ## Use instead
    ```python
    import asyncio
    import time


    def wait_for_slot():
        time.sleep(1)


    async def handler():
        await asyncio.to_thread(wait_for_slot)
    ```

    ## Known limitations
    Helpers are followed one level only, and only plain functions (no decorators other
    than staticmethod/classmethod, not cached, not generators). Calls inside
    `asyncio.to_thread`, `loop.run_in_executor`, `run_in_threadpool` and
    `anyio.to_thread.run_sync` (also in a lambda) are not reported, nor are plain `def`
    routes and dependencies, which FastAPI runs in a thread pool. Sync database clients are
    PA202 and password hashing is PA206. Async code in a script that no route, bot handler
    or background job reaches is reported as low, and so is blocking done by a lifespan,
    startup or shutdown hook itself (the worker serves nothing while it runs; tasks the
    hook starts are judged as the background jobs they are).
    """

    needs = ("lifecycle",)
    meta = RuleMeta(
        id="PA201", slug="blocking-call-in-async", family="asyncio",
        dimension=Dimension.PERFORMANCE, severity=Severity.HIGH,
        summary="blocking I/O (sleep, HTTP, files, subprocess, sync SDKs) on the event loop, "
                "directly or through a sync helper",
        effort_minutes=20,
        ruff_codes=("ASYNC210", "ASYNC212", "ASYNC220", "ASYNC221", "ASYNC222", "ASYNC230",
                    "ASYNC240", "ASYNC250", "ASYNC251"),
        file_kinds=("source",),
        fix="Use the async equivalent (asyncio.sleep, httpx.AsyncClient, aiofiles, "
            "asyncio.create_subprocess_exec) or await asyncio.to_thread(...).",
    )
    # Local file I/O blocks for micro- to milliseconds; network and sleeps for much longer.
    severity_by_code: ClassVar[dict[str, Severity]] = {"ASYNC230": Severity.MEDIUM, "ASYNC240": Severity.MEDIUM,
                        "ASYNC250": Severity.MEDIUM}

    def check_project(self, project) -> Iterator[Finding]:
        reach = entry_reach(project)
        # Direct calls ruff reports are left to the bridge; ours are the ones it cannot see.
        blocks = [b for b in loop_blocks(project) if b.blocking.category in CATEGORIES
                  and (b.helper is not None or not b.blocking.ruff)]
        hooks = {hook.function for hook in project.background.hooks}
        for group in grouped(blocks, self._direct_key):
            summary = summarize_group(project, group, reach)
            first = summary.first
            # Blocking in a lifespan/startup/shutdown hook itself delays the worker's start
            # or stop; no request waits on that loop yet (or any more).
            hooks_only = not summary.reached and all(b.caller.key in hooks for b in group)
            severity = Severity.LOW if summary.scripts_only or hooks_only else worst(group)
            consequence = HOOK_CONSEQUENCE if hooks_only else CONSEQUENCE[first.blocking.category]
            if first.helper is None:
                message = (f"async `{first.caller.fact.qualname}` blocks the event loop with "
                           f"{summary.listed}: {consequence}")
                anchor = f"{first.caller.key}:{self._direct_key(first)[0]}"
            elif summary.sites == 1:
                message = (f"async `{first.caller.fact.qualname}` calls sync `{first.helper.fact.qualname}`, "
                           f"which blocks the event loop with {summary.listed}: {consequence}")
                anchor = f"{first.helper.key}:blocking"
            else:
                message = (f"sync `{first.helper.fact.qualname}` blocks the event loop with {summary.listed} "
                           f"and is called from async code in {summary.sites} places ({summary.callers_text}): "
                           f"{consequence}")
                anchor = f"{first.helper.key}:blocking"
            yield self.finding(
                message, first.site_location, severity=severity, evidence=summary.evidence, anchor=anchor,
                details={"async_call_sites": summary.sites, "via_helper": first.helper is not None},
            )

    @staticmethod
    def _direct_key(block) -> tuple[str]:
        bound = block.blocking.bound
        return (bound.obj.family if bound is not None else block.blocking.what,)
