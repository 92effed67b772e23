"""The concurrency extractors' facts on small snippets, and the long-lived class model."""

from __future__ import annotations

import textwrap
from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.model.extractors.await_races import CheckThenAct
from prodaudit.model.extractors.container_growth import KeyedWrite, SizeCheck
from prodaudit.model.extractors.file_store import FileStoreAccess
from prodaudit.model.extractors.read_modify_write import AttributeUpdate
from prodaudit.model.lifetimes import long_lived_classes
from prodaudit.model.summary import summarize


def facts(code: str, kind: type) -> list:
    summary = summarize("m.py", "m", "source", False, textwrap.dedent(code).encode(), "digest")
    return summary.facts_of(kind)


def test_check_then_act_needs_an_await_between_check_and_write() -> None:
    found = facts("""
        import asyncio
        _cache = {}
        lock = asyncio.Lock()

        async def racy(k):
            if k not in _cache:
                _cache[k] = await load(k)

        async def no_await(k):
            if k not in _cache:
                _cache[k] = k

        async def locked(k):
            async with lock:
                if k not in _cache:
                    _cache[k] = await load(k)

        async def rechecked(k):
            v = await load(k)
            if k not in _cache:
                _cache[k] = v

        async def local(k):
            d = {}
            if k not in d:
                d[k] = await load(k)
        """, CheckThenAct)
    assert [(f.scope, f.check, f.locked) for f in found] == [("racy", "membership", False),
                                                             ("locked", "membership", True)]


def test_container_writes_know_constant_and_fresh_keys_and_size_checks() -> None:
    found = facts("""
        import uuid
        jobs = {}
        state = {}

        def submit(payload):
            job_id = uuid.uuid4().hex
            jobs[job_id] = payload
            state["last"] = payload
            if len(jobs) > 100:
                jobs.clear()
        """, KeyedWrite) + facts("""
        jobs = {}
        def trim():
            if len(jobs) >= 10:
                pass
        """, SizeCheck)
    writes = {(f.root, f.key.text, f.key.is_const, f.key_fresh) for f in found if isinstance(f, KeyedWrite)}
    assert writes == {("jobs", "job_id", False, True), ("state", "last", True, False)}
    assert [(f.root, f.scope) for f in found if isinstance(f, SizeCheck)] == [("jobs", "trim")]


def test_file_store_paths_modes_and_per_call_files() -> None:
    found = facts("""
        import json
        DB = "data/users.json"

        def load():
            with open(DB) as f:
                return json.load(f)

        def save(users):
            with open(DB, "w") as f:
                json.dump(users, f)

        def log(event):
            with open(DB, "a") as f:
                json.dump(event, f)

        def save_one(user_id, data):
            path = f"data/{user_id}.json"
            with open(path, "w") as f:
                json.dump(data, f)
        """, FileStoreAccess)
    assert [(f.scope, f.op, f.path.text, f.uses_parameters) for f in found] == [
        ("load", "read", "DB", False), ("save", "write", "DB", False),
        ("save_one", "write", "f'data/{user_id}.json'", True)]


def test_read_modify_write_records_where_the_object_came_from() -> None:
    found = facts("""
        async def pay(session, lines: list[tuple[Book, int]], user: User):
            account = await session.get(Account, 1)
            account.balance -= 5
            for book, qty in lines:
                book.stock = book.stock - qty
            user.visits += 1
            user.name = user.name + "!"
            total = 0
            total += 1
        """, AttributeUpdate)
    assert [(f.obj, f.attribute, f.origin, f.loop_index) for f in found] == [
        ("account", "balance", "assign", -1), ("book", "stock", "loop", 0),
        ("user", "visits", "param", -1)]
    assert found[1].annotation.text == "list[tuple[Book, int]]"


def test_long_lived_classes_module_level_app_state_and_cached_factories(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        from functools import lru_cache
        from fastapi import FastAPI

        class Base: ...
        class Container(Base): ...
        class Jobs: ...
        class Settings: ...
        class PerRequest: ...

        container = Container()
        app = FastAPI()

        async def startup():
            app.state.jobs = Jobs()

        @lru_cache
        def get_settings():
            return Settings()

        def handler():
            return PerRequest()
        """))
    project = run_audit(tmp_path, AuditOptions(use_cache=False, run_rules=False)).project
    lived = long_lived_classes(project)
    assert sorted(lived) == ["app:Base", "app:Container", "app:Jobs", "app:Settings"]
    assert lived["app:Base"].how == "module-level `container`"
