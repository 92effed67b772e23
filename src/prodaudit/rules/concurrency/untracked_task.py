from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class UntrackedTask(BridgedRule):
    """
    ## What it does
    Finds `asyncio.create_task(...)` / `asyncio.ensure_future(...)` whose result is
    discarded (ruff RUF006).

    ## Why is this bad?
    The event loop keeps only a weak reference to tasks: an unreferenced task can be
    garbage-collected before it finishes. Its exception is never retrieved (only "Task
    exception was never retrieved" at exit), and nothing cancels it on shutdown.

    ## Example
    ```python
    import asyncio

    async def handler(job):
        asyncio.create_task(job.run())
    ```

    ## Use instead
    ```python
    import asyncio

    background_tasks = set()

    async def handler(job):
        task = asyncio.create_task(job.run())
        background_tasks.add(task)
        task.add_done_callback(background_tasks.discard)
    ```

    ## Known limitations
    Only direct calls to the asyncio functions; task factories of other libraries
    (anyio task groups are fine by design) are not checked.
    """

    meta = RuleMeta(
        id="PA108", slug="untracked-task", family="concurrency", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, summary="asyncio task created and its reference dropped",
        effort_minutes=10, ruff_codes=("RUF006",), file_kinds=("source",),
        fix="Keep a reference (a set with add_done_callback(discard)) or use a TaskGroup.",
    )
