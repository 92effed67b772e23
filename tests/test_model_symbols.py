"""Strict symbol resolution (model/symbols.py, model/signatures.py) and the shutdown model
on mini projects written into tmp_path: the cases where "unknown" must be the answer."""

from __future__ import annotations

from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.model.extractors.task_handles import TaskStart


def project(tmp_path: Path, files: dict[str, str]):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return run_audit(tmp_path, AuditOptions(use_cache=False, run_rules=False)).project


def test_package_hides_module_of_the_same_name(tmp_path: Path) -> None:
    p = project(tmp_path, {
        "api/__init__.py": "",
        "api/projects.py": "router = 1\n",
        "api/projects/__init__.py": "from .handlers import Handlers\n",
        "api/projects/handlers.py": "class Handlers: pass\n",
        "main.py": "from api.projects import router\n",
    })
    resolved = p.symbols.module("api.projects")
    assert resolved.summary.path == "api/projects/__init__.py"
    assert resolved.shadowed.path == "api/projects.py"
    assert p.symbols.defines(resolved.summary, "Handlers") is True
    assert p.symbols.defines(resolved.summary, "handlers") is True  # a submodule on disk
    assert p.symbols.defines(resolved.summary, "router") is False


def test_third_party_and_ambiguous_names_do_not_resolve(tmp_path: Path) -> None:
    p = project(tmp_path, {
        "requirements.txt": "PyYAML==6.0\n",
        "app/__init__.py": "",
        "app/yaml.py": "def load(): pass\n",
        "app/json.py": "def dumps(): pass\n",
        "a/config.py": "X = 1\n",
        "b/config.py": "X = 2\n",
        "app/main.py": "import yaml\nimport json\nfrom app import config\n",
    })
    assert p.symbols.module("yaml") is None  # declared dependency
    assert p.symbols.module("json") is None  # standard library
    assert p.symbols.module("config") is None  # two modules carry the name
    assert p.symbols.module("app.yaml").summary.path == "app/yaml.py"


def test_repository_root_imported_as_a_package(tmp_path: Path) -> None:
    files = {"__init__.py": "", "core/__init__.py": "", "core/db.py": "def get(a): pass\n"}
    files["api.py"] = "".join(f"from shop.core.db import get as g{i}\n" for i in range(3))
    p = project(tmp_path, files)
    assert p.symbols.root_packages == {"shop"}
    assert p.symbols.module("shop.core.db").summary.path == "core/db.py"


def test_dynamic_namespaces_are_unknown(tmp_path: Path) -> None:
    p = project(tmp_path, {
        "lazy.py": "def __getattr__(name):\n    return name\n",
        "star.py": "from os.path import *\n",
        "plain.py": "X = 1\n",
    })
    by_path = {m.path: m for m in p.summaries()}
    assert p.symbols.defines(by_path["lazy.py"], "anything") is None
    assert p.symbols.defines(by_path["star.py"], "anything") is None
    assert p.symbols.defines(by_path["plain.py"], "X") is True
    assert p.symbols.defines(by_path["plain.py"], "Y") is False


def test_signature_mismatches_only_for_plain_definitions(tmp_path: Path) -> None:
    p = project(tmp_path, {
        "svc.py": (
            "import functools\n"
            "def plain(a, b=1): pass\n"
            "@functools.cache\n"
            "def cached(a): pass\n"
            "def star(*a): pass\n"
            "class Base:\n"
            "    def __init__(self, x): pass\n"
            "class Child(Base):\n"
            "    pass\n"
        ),
        "main.py": (
            "from svc import plain, cached, star, Child\n"
            "def run(f):\n"
            "    plain()\n"
            "    plain(1, 2, 3)\n"
            "    plain(1, c=2)\n"
            "    cached()\n"
            "    star()\n"
            "    Child()\n"
            "    f()\n"
        ),
    })
    problems = {(m.call.line, m.problem) for m in p.signature_mismatches}
    assert problems == {
        (3, "missing required argument `a`"),
        (4, "3 positional arguments given, it takes 2"),
        (5, "unexpected keyword argument `c`"),
        (8, "missing required argument `x`"),
    }


def test_task_handles_and_shutdown(tmp_path: Path) -> None:
    p = project(tmp_path, {
        "main.py": (
            "import asyncio\n"
            "from contextlib import asynccontextmanager\n"
            "from fastapi import FastAPI\n"
            "async def loop():\n"
            "    while True:\n"
            "        await asyncio.sleep(1)\n"
            "@asynccontextmanager\n"
            "async def lifespan(app):\n"
            "    kept = asyncio.create_task(loop())\n"
            "    app.state.t = asyncio.create_task(loop())\n"
            "    asyncio.create_task(loop())\n"
            "    yield\n"
            "    kept.cancel()\n"
            "app = FastAPI(lifespan=lifespan)\n"
        ),
    })
    starts = {(f.line, f.handle, f.stored, f.used_later)
              for m in p.summaries() for f in m.facts_of(TaskStart)}
    assert starts == {(9, "kept", "assigned", True), (10, "app.state.t", "assigned", False),
                      (11, "", "discarded", False)}
    stopped = {t.job.location.line: t.stopped for t in p.shutdown.tasks}
    assert stopped == {9: True, 10: False, 11: False}
