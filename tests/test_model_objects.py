"""The library-object resolver (model/objects.py) and the lifecycle extractor, on a small
project written in a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.model.extractors.lifecycle import FunctionLocals, ObjectUse

FILES = {
    "app/__init__.py": "",
    "app/db.py": """
        import httpx
        import redis
        from sqlalchemy import create_engine
        from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine("postgresql://x")
        SessionLocal = sessionmaker(bind=engine)
        AsyncLocal = sessionmaker(create_async_engine("postgresql+asyncpg://x"), class_=AsyncSession)
        cache = redis.Redis()
        http = httpx.AsyncClient()


        def get_cache():
            return cache


        def new_client():
            client = httpx.Client(timeout=5)
            return client
    """,
    "app/deps.py": """
        from typing import Annotated, Optional

        from fastapi import Depends
        from sqlalchemy.orm import Session

        SessionDep = Annotated[Session, Depends(lambda: None)]
    """,
    "app/use.py": """
        import httpx

        from app import db as database
        from app.db import AsyncLocal, SessionLocal, cache, get_cache, new_client
        from app.deps import SessionDep


        class Service:
            def __init__(self):
                self.http = httpx.AsyncClient()

            async def run(self, db: SessionDep, other: "Session" = None):
                with SessionLocal() as session:
                    session.query(int)
                async with AsyncLocal() as asession:
                    await asession.execute("x")
                conn = database.engine.connect()
                cur = conn.execute("x")
                shared = get_cache()
                fresh = new_client()
                for cache in [1, 2]:
                    cache.bit_length()
                await self.http.get("/")
                db.query(int)
                database.cache.get("k")
                return shared, fresh, cur
    """,
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("objects")
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return run_audit(root, AuditOptions(use_cache=False, run_rules=False)).project


def _module(project, path):
    return project.modules[path]


def _call(module, callee):
    return next(c for c in module.calls if c.callee == callee)


def test_receivers_resolve_to_library_objects(project) -> None:
    use = _module(project, "app/use.py")
    resolve = project.objects.receiver_of
    kinds = {callee: (found[0].obj.name, found[0].obj.is_async) if (found := resolve(use, _call(use, callee))) else None
             for callee in ("session.query", "asession.execute", "conn.execute", "self.http.get", "db.query",
                            "database.cache.get", "cache.bit_length")}
    assert kinds == {
        "session.query": ("sqlalchemy.orm.Session", False),  # sessionmaker product, `with ... as`
        "asession.execute": ("sqlalchemy.ext.asyncio.AsyncSession", True),  # class_=AsyncSession
        "conn.execute": ("sqlalchemy.engine.Connection", False),  # engine.connect() through a module
        "self.http.get": ("httpx.AsyncClient", True),  # set in __init__
        "db.query": ("sqlalchemy.orm.Session", False),  # Annotated alias imported from another module
        "database.cache.get": ("redis.Redis", False),
        "cache.bit_length": None,  # a loop variable shadows the imported global
    }


def test_fresh_objects_and_shared_ones(project) -> None:
    use = _module(project, "app/use.py")
    shared = project.objects.created_by(use, _call(use, "get_cache"))
    fresh = project.objects.created_by(use, _call(use, "new_client"))
    assert shared.obj.name == "redis.Redis" and not shared.fresh  # a getter returning a global
    assert fresh.obj.name == "httpx.Client" and fresh.fresh  # a factory returning a new client


def test_lifecycle_extractor(project) -> None:
    db = _module(project, "app/db.py")
    use = _module(project, "app/use.py")
    uses = {(u.scope, u.callee): (u.how, u.local, u.escapes) for u in db.facts_of(ObjectUse)}
    assert uses[("new_client", "httpx.Client")] == ("local", "client", ("returned",))
    uses = {(u.scope, u.callee): u.how for u in use.facts_of(ObjectUse)}
    assert uses[("Service.run", "SessionLocal")] == "with"
    assert uses[("Service.__init__", "httpx.AsyncClient")] == "stored"
    locals_of_run = next(f for f in use.facts_of(FunctionLocals) if f.scope == "Service.run")
    assert {"session", "cache", "conn", "shared"} <= set(locals_of_run.names)
