from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.file_store import FileStoreAccess
from prodaudit.model.facts import ModuleSummary
from prodaudit.model.lifetimes import long_lived_classes
from prodaudit.model.values import Value
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.multiworker import workers_evidence
from prodaudit.rules.concurrency.reach import handler_reach, reached_evidence, who


@dataclass(frozen=True)
class StoreFile:
    identity: str  # what makes two accesses the same file
    display: str  # 'data/users.json', or the expression when it is not a literal
    defined: Location | None  # where the path is set, when that is not the access itself


@register
class FileAsDatabase(ProjectRule):
    """
    ## What it does
    Finds one JSON, pickle or shelve file on a fixed path that code reached from routes or
    bot handlers rewrites (`json.dump`, `pickle.dump`, `write_text(json.dumps(...))`,
    `shelve.open`) and that the application also reads back: a file used as the database.
    The path may be a literal, a module constant, a setting, or an attribute such as
    `self.data_file` set in `__init__`; a path built from the function's own arguments (a
    file per user) is not this pattern.

    ## Why is this bad?
    Every update rewrites the whole file, so the cost of one change grows with the data.
    A crash or a deploy in the middle of `json.dump` leaves a truncated file that fails to
    load on the next start. Concurrent writers (other coroutines, other workers, a second
    replica) each write their own in-memory copy and overwrite each other's changes; there
    is no cross-process lock, no transaction and no backup (seed 004 section 3.1:
    StateManager with `data/users.json`). Use a database (SQLite at least, Postgres or
    Redis for several processes).

    ## Example
    ```python
    import json

    from fastapi import FastAPI

    app = FastAPI()
    DB_FILE = "data/users.json"


    def load_users() -> dict:
        with open(DB_FILE) as f:
            return json.load(f)


    @app.post("/users/{user_id}/language")
    async def set_language(user_id: str, language: str):
        users = load_users()
        users[user_id] = {"language": language}
        with open(DB_FILE, "w") as f:
            json.dump(users, f)
        return {"ok": True}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from redis.asyncio import Redis

    app = FastAPI()
    redis = Redis()


    @app.post("/users/{user_id}/language")
    async def set_language(user_id: str, language: str):
        await redis.hset(f"user:{user_id}", "language", language)
        return {"ok": True}
    ```

    ## Known limitations
    Only json/pickle/marshal/shelve through `open`, `aiofiles.open`, `Path.open`,
    `read_text`/`write_text`; other formats (YAML, CSV, plain text) and wrappers of them in
    other modules are not followed. A write that renames a temporary file into place and
    takes a file lock is reported as medium: it no longer corrupts the file, but still
    rewrites it whole and serialises every writer.
    """

    needs = ("file_store",)
    meta = RuleMeta(
        id="PA110", slug="file-as-database", family="concurrency", dimension=Dimension.SCALABILITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="one JSON/pickle/shelve file read and rewritten from handlers: corruption, lost updates, no scaling",
        effort_minutes=240, technology=("fastapi", "aiogram"),
        fix="Move the data to a database (SQLite for one process, Postgres or Redis for several); "
            "until then write to a temporary file and os.replace() it into place under a file lock.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        accesses = [(m, f) for m in project.summaries("source") for f in m.facts_of(FileStoreAccess)]
        if not accesses:
            return
        lived = long_lived_classes(project)
        groups: dict[str, list[tuple[ModuleSummary, FileStoreAccess, StoreFile]]] = {}
        for module, fact in accesses:
            store = self.store_file(project, module, fact, lived)
            if store is not None:
                groups.setdefault(store.identity, []).append((module, fact, store))
        if not groups:
            return
        reach = handler_reach(project)
        for identity, group in sorted(groups.items()):
            reads = [a for a in group if a[1].op in ("read", "shelve")]
            writes = [(a, reach.get(f"{a[0].module}:{a[1].scope}")) for a in group if a[1].op in ("write", "shelve")]
            reached = [(a, hit) for a, hit in writes if hit is not None]
            if not reads or not reached:
                continue
            (module, fact, store), hit = reached[0]
            safe = all(a[1].atomic and a[1].file_locked for a, _ in reached)
            damage = ("every update still rewrites the whole file and waits on one lock" if safe else
                      ("concurrent writers overwrite each other's changes" if all(a[1].atomic for a, _ in reached)
                       else "a crash mid-write leaves a truncated file, and concurrent writers overwrite "
                            "each other's changes"))
            evidence = []
            if store.defined is not None:
                evidence.append(Evidence(store.defined, f"path set here: {store.display}"))
            for other, access, _ in reads[:2]:
                evidence.append(Evidence(Location(other.path, access.line), f"read here ({access.api})"))
            for (other, access, _), _hit in reached[:2]:
                evidence.append(Evidence(Location(other.path, access.line), f"rewritten here ({access.api})"))
            evidence.append(reached_evidence(project, f"{module.module}:{fact.scope}", hit))
            workers = project.workers
            if workers.several:
                evidence += workers_evidence(workers)
            yield self.finding(
                f"`{store.display}` is used as a database: read back and rewritten by `{fact.scope}` on "
                f"{who(hit[0])} ({hit[0]}): {damage}",
                Location(module.path, fact.line),
                severity=Severity.MEDIUM if safe else Severity.HIGH,
                evidence=evidence,
                anchor=identity,
                details={"writes": len(writes), "reads": len(reads)},
            )

    def store_file(self, project, module: ModuleSummary, fact: FileStoreAccess, lived) -> StoreFile | None:
        """What file an access is about, when its path is fixed; None for per-call paths."""
        value = fact.path
        if value is None or fact.uses_parameters:
            return None
        fn = module.function(fact.scope)
        class_name = fn.class_name if fn else ""
        # A path taken from the instance is one shared file only when it is a literal
        # (`data_file="data/users.json"`) or the instance itself is made once; a workspace
        # object per project has a file per project.
        varies_per_instance = any(v.kind == "attr" and v.text.startswith("self.") for v in value.walk()) \
            and f"{module.module}:{class_name}" not in lived
        if value.kind == "attr" and value.text.startswith("self.") and class_name:
            defined, text = self._instance_path(project, module, class_name, value.text)
            if text is None and varies_per_instance:
                return None
            return StoreFile(f"attr:{module.module}:{class_name}.{value.text[5:]}", text or value.text, defined)
        text = self._literal(project, module, value)
        if text is not None:
            return StoreFile(f"file:{text}", text, None)
        if varies_per_instance:
            return None
        return StoreFile(f"expr:{module.module}:{class_name}:{value.text}", value.text, None)

    def _instance_path(self, project, module: ModuleSummary, class_name: str, target: str):
        """Where `self.data_file` is set, and its literal when evident (also through an
        __init__ parameter's default: `def __init__(self, data_file="data/users.json")`)."""
        for fact in module.assignments:
            if fact.target != target or not fact.scope.startswith(class_name + "."):
                continue
            where = Location(module.path, fact.line)
            value = fact.value
            text = self._literal(project, module, value) if value is not None else None
            if text is None and value is not None and value.kind == "name":
                init = module.function(fact.scope)
                param = next((p for p in init.params if p.name == value.text), None) if init else None
                if param is not None and param.default is not None:
                    text = self._literal(project, module, param.default)
            return where, text
        return None, None

    def _literal(self, project, module: ModuleSummary, value: Value | None, depth: int = 0) -> str | None:
        """The path as a string when every part of it is a literal or a constant."""
        if value is None or depth > 4:
            return None
        if value.kind == "const":
            return value.const if isinstance(value.const, str) else None
        if value.kind in ("name", "attr"):
            resolved = project.constant(value, module)
            if isinstance(resolved, str):
                return resolved
            if "." not in value.text:  # DATA_DIR / "users.json" assigned to a module constant
                fact = project.assignment(module, "", value.text)
                return self._literal(project, module, fact.value, depth + 1) if fact else None
            return None
        if value.kind == "binop" and value.name in ("Div", "Add") and len(value.items) == 2:
            left, right = (self._literal(project, module, item, depth + 1) for item in value.items)
            if left is None or right is None:
                return None
            return f"{left.rstrip('/')}/{right}" if value.name == "Div" else left + right
        if value.kind == "call" and value.name.rsplit(".", 1)[-1] in ("Path", "PurePath", "join") and value.items:
            parts = [self._literal(project, module, item, depth + 1) for item in value.items]
            return "/".join(p.rstrip("/") for p in parts) if all(p is not None for p in parts) else None
        return None
