from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.rules.asyncio.event_loop import (
    CPU,
    entry_reach,
    grouped,
    loop_blocks,
    summarize_group,
)
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class CpuBoundInAsync(ProjectRule):
    """
    ## What it does
    Finds CPU-heavy work done on the event loop: password hashing and verification
    (`bcrypt.hashpw`/`checkpw`, passlib `CryptContext.hash`/`verify`, argon2
    `PasswordHasher.hash`/`verify`, pwdlib `PasswordHash`, `hashlib.pbkdf2_hmac`/`scrypt`)
    and Pillow image operations (`resize`, `thumbnail`, `convert`, `save`...), inside an
    `async def` or in a plain sync function an `async def` calls directly, without
    `asyncio.to_thread`/`run_in_executor`/`run_in_threadpool`.

    ## Why is this bad?
    A password hash is slow on purpose: bcrypt at cost 12 takes about 250 ms of CPU, argon2
    with default settings tens of milliseconds and tens of MB. On the event loop that time
    is taken from every other request of the worker: ten concurrent logins freeze the
    process for over two seconds, health checks included. The typical case is
    `async def login(...): if not pwd_context.verify(...)`.

    ## Example
    ```python
    from fastapi import FastAPI
    from passlib.context import CryptContext

    pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
    app = FastAPI()


    def verify_password(password: str, hashed: str) -> bool:
        return pwd_context.verify(password, hashed)


    @app.post("/auth/login")
    async def login(password: str, hashed: str):
        if not verify_password(password, hashed):
            return {"error": "invalid credentials"}
        return {"ok": True}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from fastapi.concurrency import run_in_threadpool
    from passlib.context import CryptContext

    pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
    app = FastAPI()


    def verify_password(password: str, hashed: str) -> bool:
        return pwd_context.verify(password, hashed)


    @app.post("/auth/login")
    async def login(password: str, hashed: str):
        if not await run_in_threadpool(verify_password, password, hashed):
            return {"error": "invalid credentials"}
        return {"ok": True}
    ```

    ## Known limitations
    Only password hashing and Pillow are recognised; large JSON (de)serialisation or pure
    Python loops are not (their cost depends on data sizes static analysis cannot see).
    Helpers are followed one level. How long a hash takes depends on the configured cost,
    which is not read: confidence is medium.
    """

    needs = ("lifecycle",)
    meta = RuleMeta(
        id="PA206", slug="cpu-bound-in-async", family="asyncio",
        dimension=Dimension.PERFORMANCE, severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="password hashing or image processing on the event loop",
        effort_minutes=15, technology=("passlib", "bcrypt", "argon2", "pillow"),
        fix="Run it in a thread: `await asyncio.to_thread(verify_password, password, hashed)` "
            "(or run_in_threadpool in FastAPI).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        reach = entry_reach(project)
        blocks = [b for b in loop_blocks(project) if b.blocking.category == CPU]
        # One finding per hashing call; image work is usually a pipeline: one per function.
        for group in grouped(blocks, lambda b: ("image",) if _is_image(b) else (str(b.site.line),)):
            summary = summarize_group(project, group, reach)
            first = summary.first
            is_hash = not _is_image(first)
            if summary.scripts_only:
                severity = Severity.LOW
            elif summary.reached and is_hash:
                severity = Severity.HIGH  # every user of a login/register route pays for it
            else:
                severity = Severity.MEDIUM
            cost = _cost(first) if is_hash else "no other request of this worker runs until the image work ends"
            if first.helper is None:
                message = f"async `{first.caller.fact.qualname}` runs {summary.listed} on the event loop: {cost}"
                anchor = f"{first.caller.key}:{first.blocking_call.callee}"
            elif summary.sites == 1:
                message = (f"async `{first.caller.fact.qualname}` calls sync `{first.helper.fact.qualname}`, which "
                           f"runs {summary.listed} on the event loop: {cost}")
                anchor = f"{first.helper.key}:cpu"
            else:
                message = (f"sync `{first.helper.fact.qualname}` runs {summary.listed} and is called from async "
                           f"code in {summary.sites} places ({summary.callers_text}): {cost}")
                anchor = f"{first.helper.key}:cpu"
            yield self.finding(message, first.site_location, severity=severity, evidence=summary.evidence,
                               anchor=anchor, details={"via_helper": first.helper is not None,
                                                       "async_call_sites": summary.sites})


def _cost(block) -> str:
    bound = block.blocking.bound
    what = block.blocking.what
    if bound is not None and bound.obj.name == "argon2.PasswordHasher" or "argon2" in what:
        detail = "argon2 with default parameters: tens of ms of CPU and 64 MB per call"
    elif "pbkdf2" in what or "scrypt" in what:
        detail = "PBKDF2/scrypt at recommended work factors: 100+ ms of CPU per call"
    else:
        detail = "bcrypt at cost 12: ~250 ms of CPU per call"
    return f"password hashing is slow on purpose ({detail}) and no other request of this worker runs meanwhile"


def _is_image(block) -> bool:
    bound = block.blocking.bound
    return bound is not None and bound.obj.kind == "image"
