"""The project model on mini projects: exact endpoint tables, bot handlers, background
work, mutable state and call-graph paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit

FIXTURES = Path(__file__).parent / "fixtures" / "model"


def project_of(name: str):
    return run_audit(FIXTURES / name, AuditOptions(use_cache=False, run_rules=False)).project


@pytest.fixture(scope="module")
def nested():
    return project_of("fastapi_nested")


@pytest.fixture(scope="module")
def jobs():
    return project_of("bots_and_jobs")


def test_full_urls_through_every_level_of_prefix(nested) -> None:
    table = {(e.method, e.url, e.handler.qualname if e.handler else "", bool(e.app))
             for e in nested.routes.endpoints}
    assert table == {
        ("GET", "/api/v1/users/", "list_users", True),
        ("POST", "/api/v1/users/", "create_user", True),
        ("GET", "/api/v1/users/me", "read_me", True),
        ("GET", "/api/v1/items/v2/{item_id}", "get_item", True),
        ("POST", "/api/v1/items/v2/bulk", "bulk_create", True),
        ("GET", "/health", "health", True),
        ("GET", "/legacy/health", "health", True),  # included twice: listed twice
        ("GET", "/f/health", "health", True),  # app built in a factory
        ("GET", "/inline", "create_app.inline", True),
        ("GET", "/extra/ping", "ping", True),  # included in a for loop
        ("HEAD", "/extra/ping", "ping", True),
        ("GET", "/orphan/lost", "lost", False),  # router no app includes
        ("GET", "/admin/stats", "stats", True),
    }
    assert all(e.url_known for e in nested.routes.endpoints)


def test_auth_from_include_route_param_and_alias(nested) -> None:
    auth = {e.label: sorted({d.target.rsplit(".", 1)[-1] for d in e.auth if d.level != "nested"})
            for e in nested.routes.endpoints}
    assert auth["GET /api/v1/users/"] == []  # SessionDep is a dependency, not auth
    assert auth["POST /api/v1/users/"] == ["require_admin"]
    assert auth["GET /api/v1/users/me"] == ["get_current_user"]  # through Annotated alias
    assert auth["GET /api/v1/items/v2/{item_id}"] == ["get_current_user"]  # include level
    assert auth["POST /api/v1/items/v2/bulk"] == ["get_current_user"]
    assert auth["GET /health"] == []
    assert auth["GET /admin/stats"] == ["require_admin"]  # router-level dependencies=
    levels = {d.level for e in nested.routes.endpoints for d in e.dependencies}
    assert {"include", "router", "route", "param", "nested"} <= levels


def test_reachability_with_paths(nested) -> None:
    graph = nested.callgraph
    reach = graph.reachable(nested.entry_points)
    label, path = reach["app.deps:get_current_user"]
    assert label == "GET /api/v1/users/me"
    assert [e.kind for e in path] == ["depends"]


def test_bot_handlers_aiogram_and_ptb(jobs) -> None:
    handlers = {(h.framework, h.event, h.filters, h.function) for h in jobs.bot_handlers}
    assert handlers == {
        ("aiogram", "message", "CommandStart()", "bot.handlers:start"),
        ("aiogram", "callback_query", 'F.data == "buy"', "bot.handlers:buy"),  # as written
        ("aiogram", "message", "F.text", "bot.handlers:echo"),
        ("ptb", "command", "start", "ptb.app:start"),
        ("ptb", "message", "filters.TEXT & ~filters.COMMAND", "ptb.app:echo"),
    }


def test_background_work_and_locks(jobs) -> None:
    background = jobs.background
    assert [(h.kind, h.function) for h in background.hooks] == [("lifespan", "svc.main:lifespan")]
    found = {(j.kind, j.target, bool(j.loop_location), bool(j.lock_evidence), j.handle)
             for j in background.jobs}
    assert found == {
        ("task", "svc.main:refresh_loop", True, True, "app.state.refresher"),
        ("task", "svc.main:poll_loop", True, False, ""),
        ("scheduler-job", "svc.main:nightly", False, False, ""),
        ("background-task", "svc.main:send_email", False, False, ""),
    }


def test_mutable_state_and_who_mutates_it(jobs) -> None:
    state = {s.name: s for s in jobs.singletons}
    assert set(state) == {"CACHE", "HANDLERS", "LIMITS", "limiter"}
    assert state["CACHE"].mutated_at_runtime
    assert {label for label, _, _ in state["CACHE"].reached_from} == {"POST /login"}
    assert state["limiter"].kind == "instance" and state["limiter"].class_name == "Limiter"
    assert [a.name for a in state["limiter"].state] == ["_hits"]
    assert {label for label, _, _ in state["limiter"].reached_from} == {"POST /login"}
    # Filled at import by a decorator, and a constant only read: not run-time state.
    assert not state["HANDLERS"].mutated_at_runtime
    assert not state["LIMITS"].mutated_at_runtime and state["LIMITS"].mutations == ()


def test_stats_state_their_methods(nested) -> None:
    from prodaudit.model.inventory import build_stats

    stats = {s.key: s for s in build_stats(nested)}
    assert stats["source_files"].value == 15  # 5 __init__.py and 10 modules
    assert stats["async_functions"].value == 13  # read_me and create_app are sync
    assert all(s.method for s in stats.values())


def test_test_functions_are_what_pytest_collects(tmp_path: Path) -> None:
    from prodaudit.model.inventory import build_stats

    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture\ndef test_user():\n    return 1\n\n\n"
        "def test_helper():\n    pass\n")
    (tests / "test_orders.py").write_text(
        "import pytest\nfrom pytest import fixture\n\n\n@pytest.fixture(scope='module')\n"
        "def test_payload():\n    return {}\n\n\n@fixture\nasync def test_client():\n    yield 1\n\n\n"
        "def test_total():\n    def test_nested():\n        pass\n    assert True\n\n\n"
        "class TestOrders:\n    def test_empty(self):\n        assert True\n\n\n"
        "class Helpers:\n    def test_like(self):\n        pass\n")
    project = run_audit(tmp_path, AuditOptions(use_cache=False, run_rules=False)).project
    stats = {s.key: s for s in build_stats(project)}
    assert stats["test_functions"].value == 2  # test_total and TestOrders.test_empty


def test_inventory_command_json(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-m", "prodaudit", "inventory", str(FIXTURES / "bots_and_jobs"),
                           "--format", "json", "--no-cache"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert [e["url"] for e in document["endpoints"]] == ["/login"]
    assert document["endpoints"][0]["rate_limits"] == ["limiter.hit() at svc/main.py:72"]
    assert {s["name"] for s in document["singletons"] if s["mutated_at_runtime"]} == {
        "svc.main:CACHE", "svc.main:limiter"}
    terminal = subprocess.run([sys.executable, "-m", "prodaudit", "inventory", str(FIXTURES / "fastapi_nested"),
                               "--no-cache"], capture_output=True, text=True, env=env, check=False)
    assert terminal.returncode == 0 and "/api/v1/items/v2/{item_id}" in terminal.stdout
