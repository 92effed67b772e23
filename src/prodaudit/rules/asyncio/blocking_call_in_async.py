from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class BlockingCallInAsync(BridgedRule):
    """
    ## What it does
    Finds blocking calls inside `async def`: `time.sleep`, `requests`/`urllib`/sync
    `httpx` calls, `open()` and file methods, `subprocess`/`os.system` (ruff ASYNC210-
    ASYNC251).

    ## Why is this bad?
    An `async def` runs on the event loop. While it blocks, no other request or message
    of that worker is served: one slow HTTP call or a `time.sleep(3)` freezes every user
    of the process.

    ## Example
    ```python
    import time

    async def handler():
        time.sleep(1)
    ```

    ## Use instead
    ```python
    import asyncio

    async def handler():
        await asyncio.sleep(1)
    ```

    ## Known limitations
    Direct calls only; a sync helper that blocks, called from async code, is not yet
    followed. Calls wrapped in `asyncio.to_thread` are not reported.
    """

    meta = RuleMeta(
        id="PA201", slug="blocking-call-in-async", family="asyncio",
        dimension=Dimension.PERFORMANCE, severity=Severity.HIGH,
        summary="blocking I/O (sleep, HTTP, files, subprocess) inside async def",
        effort_minutes=20,
        ruff_codes=("ASYNC210", "ASYNC212", "ASYNC220", "ASYNC221", "ASYNC222", "ASYNC230",
                    "ASYNC240", "ASYNC250", "ASYNC251"),
        file_kinds=("source",),
        fix="Use the async equivalent (asyncio.sleep, httpx.AsyncClient, aiofiles) or "
            "await asyncio.to_thread(...).",
    )
    # Local file I/O blocks for micro- to milliseconds; network and sleeps for much longer.
    severity_by_code = {"ASYNC230": Severity.MEDIUM, "ASYNC240": Severity.MEDIUM,
                        "ASYNC250": Severity.MEDIUM}
