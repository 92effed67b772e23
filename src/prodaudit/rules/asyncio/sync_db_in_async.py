from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.rules.asyncio.event_loop import (
    DB,
    entry_reach,
    grouped,
    loop_blocks,
    summarize_group,
)
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class SyncDbInAsync(ProjectRule):
    """
    ## What it does
    Finds sync database clients used on the event loop: a SQLAlchemy `Session` (from
    `Session(...)`, a non-async `sessionmaker`, or a parameter annotated `Session`) and its
    `query`/`execute`/`commit`, a sync engine's `connect()`, `psycopg2`/`pymysql`/`sqlite3`
    connections and cursors, and a sync `redis.Redis` client, inside an `async def` or in a
    plain sync function that an `async def` calls directly.

    ## Why is this bad?
    Every query waits for the database while holding the event loop: no other request of
    the worker makes progress until it returns. Under load, one slow query multiplies into
    a stall for every user of that process, and the async framework gives no concurrency
    at all (seed 002 P0 #2: "sync DB in async").

    ## Example
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://app@db/app")
    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    @app.get("/users/{user_id}")
    async def read_user(user_id: int, db: Session = Depends(get_db)):
        return db.get(dict, user_id)
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session, sessionmaker

    engine = create_engine("postgresql://app@db/app")
    SessionLocal = sessionmaker(bind=engine)
    app = FastAPI()


    def get_db():
        with SessionLocal() as db:
            yield db


    @app.get("/users/{user_id}")
    def read_user(user_id: int, db: Session = Depends(get_db)):
        return db.get(dict, user_id)
    ```

    ## Known limitations
    The client must be evident: a constructor, a session factory, a parameter annotation
    (also through `Annotated` aliases), a `self.` attribute set in the class, or a project
    function returning one. Helpers are followed one level. A plain `def` route with a sync
    session is correct (FastAPI runs it in its thread pool) and is not reported; neither
    is work handed to `asyncio.to_thread`/`run_in_executor`/`run_in_threadpool`.
    """

    needs = ("lifecycle",)
    meta = RuleMeta(
        id="PA202", slug="sync-db-in-async", family="asyncio",
        dimension=Dimension.PERFORMANCE, severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="sync SQLAlchemy Session/psycopg2/sqlite3/sync Redis used inside async code",
        effort_minutes=60, technology=("sqlalchemy", "redis"),
        fix="Use the async driver (AsyncSession with asyncpg, redis.asyncio), make the route a "
            "plain def so FastAPI runs it in its thread pool, or await asyncio.to_thread(...).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        reach = entry_reach(project)
        blocks = [b for b in loop_blocks(project) if b.blocking.category == DB]
        for group in grouped(blocks, self._direct_key):
            summary = summarize_group(project, group, reach)
            first = summary.first
            bound = first.blocking.bound
            noun = first.blocking.noun
            severity = Severity.LOW if summary.scripts_only else Severity.HIGH
            consequence = "every query blocks all other requests of this worker"
            if first.helper is None:
                more = summary.sites - 1
                calls = f"`{first.blocking_call.callee}()`" + (
                    f" and {more} more call{'s' if more > 1 else ''}" if more else "")
                message = (f"async `{first.caller.fact.qualname}` uses a {noun} on the event loop ({calls}): "
                           f"{consequence}")
                anchor = f"{first.caller.key}:{bound.obj.family if bound else first.blocking.what}"
            elif summary.sites == 1:
                message = (f"async `{first.caller.fact.qualname}` calls sync `{first.helper.fact.qualname}`, "
                           f"which uses a {noun} on the event loop: {consequence}")
                anchor = f"{first.helper.key}:sync-db"
            else:
                message = (f"sync `{first.helper.fact.qualname}` uses a {noun} and is called from async code in "
                           f"{summary.sites} places ({summary.callers_text}): {consequence}")
                anchor = f"{first.helper.key}:sync-db"
            yield self.finding(
                message, first.site_location, severity=severity, evidence=summary.evidence, anchor=anchor,
                details={"blocking_calls": len(group), "async_call_sites": summary.sites,
                         "via_helper": first.helper is not None, "client": bound.obj.name if bound else ""},
            )

    @staticmethod
    def _direct_key(block) -> tuple[str]:
        bound = block.blocking.bound
        return (bound.obj.family if bound is not None else block.blocking.what,)
