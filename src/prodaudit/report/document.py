"""Facts the report states beyond findings and scores: the detected stack, the layers as
the folder names show them, positive facts that can be proved from the model, and what
the audit covered. Language-neutral records; report/sections.py words them.

Every positive fact says how it was counted, and only claims what the model shows: "no
string-built SQL" appears only when rule PA405 ran and reported nothing.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from dataclasses import dataclass

from prodaudit.findings import AuditResult, Finding, Location
from prodaudit.model.inventory import count_test_functions
from prodaudit.report.positive_facts import proven_practices

# package (PEP 503 name or import name) -> (category, shown name)
STACK = {
    "fastapi": ("web", "FastAPI"), "starlette": ("web", "Starlette"), "flask": ("web", "Flask"),
    "django": ("web", "Django"), "aiohttp": ("http", "aiohttp"), "litestar": ("web", "Litestar"),
    "aiogram": ("bot", "aiogram"), "python-telegram-bot": ("bot", "python-telegram-bot"),
    "telegram": ("bot", "python-telegram-bot"), "telethon": ("bot", "Telethon"),
    "pyrogram": ("bot", "Pyrogram"),
    "sqlalchemy": ("orm", "SQLAlchemy"), "sqlmodel": ("orm", "SQLModel"),
    "tortoise-orm": ("orm", "Tortoise ORM"), "tortoise": ("orm", "Tortoise ORM"),
    "peewee": ("orm", "peewee"), "alembic": ("migrations", "Alembic"),
    "asyncpg": ("driver", "asyncpg (PostgreSQL)"), "psycopg": ("driver", "psycopg (PostgreSQL)"),
    "psycopg2": ("driver", "psycopg2 (PostgreSQL)"), "psycopg2-binary": ("driver", "psycopg2 (PostgreSQL)"),
    "aiosqlite": ("driver", "aiosqlite (SQLite)"), "aiomysql": ("driver", "aiomysql (MySQL)"),
    "asyncmy": ("driver", "asyncmy (MySQL)"), "pymysql": ("driver", "PyMySQL (MySQL)"),
    "motor": ("driver", "motor (MongoDB)"), "pymongo": ("driver", "pymongo (MongoDB)"),
    "redis": ("cache", "Redis (redis-py)"), "aioredis": ("cache", "aioredis"),
    "celery": ("queue", "Celery"), "arq": ("queue", "arq"), "dramatiq": ("queue", "Dramatiq"),
    "rq": ("queue", "RQ"), "apscheduler": ("queue", "APScheduler"),
    "aio-pika": ("queue", "aio-pika (RabbitMQ)"), "aio_pika": ("queue", "aio-pika (RabbitMQ)"),
    "httpx": ("http", "httpx"), "requests": ("http", "requests"),
    "pydantic": ("validation", "Pydantic"), "pydantic-settings": ("validation", "pydantic-settings"),
    "uvicorn": ("server", "uvicorn"), "gunicorn": ("server", "gunicorn"),
    "hypercorn": ("server", "Hypercorn"), "granian": ("server", "Granian"),
    "passlib": ("security", "passlib"), "bcrypt": ("security", "bcrypt"),
    "argon2-cffi": ("security", "argon2-cffi"), "argon2": ("security", "argon2-cffi"),
    "pyjwt": ("security", "PyJWT"), "jwt": ("security", "PyJWT"),
    "python-jose": ("security", "python-jose"), "jose": ("security", "python-jose"),
    "sentry-sdk": ("observability", "Sentry"), "sentry_sdk": ("observability", "Sentry"),
    "prometheus-client": ("observability", "prometheus_client"),
    "prometheus_client": ("observability", "prometheus_client"),
    "opentelemetry-api": ("observability", "OpenTelemetry"), "opentelemetry": ("observability", "OpenTelemetry"),
    "structlog": ("observability", "structlog"),
}
STACK_CATEGORIES = ("web", "bot", "server", "orm", "driver", "migrations", "cache", "queue",
                    "http", "validation", "security", "observability")

# folder name -> role; the nearest enclosing folder with a known name decides a module's role
LAYER_FOLDERS = {
    "interface": ("routers", "routes", "api", "endpoints", "views", "handlers", "controllers",
                  "webhooks", "bot"),
    "business": ("services", "service", "use_cases", "usecases", "application", "domain",
                 "logic", "interactors"),
    "data": ("crud", "repositories", "repository", "repos", "dal", "dao", "storage", "stores",
             "db"),
    "models": ("models", "entities", "orm", "tables"),
    "schemas": ("schemas", "dto", "dtos", "serializers", "contracts"),
    "background": ("background", "tasks", "jobs", "workers", "scheduler", "schedulers"),
    "auth": ("auth", "security", "permissions"),
    "config": ("core", "config", "settings", "conf"),
    "utils": ("utils", "helpers", "common", "lib", "shared"),
}
ROLE_OF_FOLDER = {name: role for role, names in LAYER_FOLDERS.items() for name in names}
LAYER_ORDER = tuple(LAYER_FOLDERS)


@dataclass(frozen=True)
class StackItem:
    category: str
    name: str
    evidence: str  # "requirements.txt:1" or "import at app/main.py:3"


@dataclass(frozen=True)
class Layer:
    role: str
    folders: tuple[str, ...]
    files: int


@dataclass(frozen=True)
class LayerUse:
    """One interface module and the layers it imports from the project."""

    path: str
    data: tuple[Location, ...]  # imports of the data-access layer
    business: tuple[Location, ...]  # imports of the business-logic layer


@dataclass(frozen=True)
class Positive:
    key: str  # message key: positive.<key>
    params: tuple[tuple[str, str | int], ...]
    locations: tuple[Location, ...] = ()
    message: str = ""  # rule-reported positives carry their own message


@dataclass(frozen=True)
class Coverage:
    files_by_kind: tuple[tuple[str, int], ...]
    skipped: tuple[tuple[str, str], ...]  # (path, why)
    warnings: tuple[str, ...]
    rules_run: tuple[str, ...]
    unparsed: tuple[str, ...]


def _role_of(path: str) -> str:
    folders = posixpath.dirname(path).split("/") if "/" in path else []
    for folder in reversed(folders):
        role = ROLE_OF_FOLDER.get(folder.lower())
        if role:
            return role
    return ""


def detect_stack(project) -> tuple[StackItem, ...]:
    if project is None:
        return ()
    found: dict[str, StackItem] = {}
    for dependency in sorted(project.dependencies.dependencies, key=lambda d: (d.group != "main", d.location)):
        known = STACK.get(dependency.name)
        if known and known[1] not in found and dependency.group == "main":
            found[known[1]] = StackItem(known[0], known[1], str(dependency.location))
    for module in project.summaries("source"):
        for fact in module.imports:
            top = fact.target.split(".")[0].lower()
            known = STACK.get(top)
            if known and known[1] not in found:
                found[known[1]] = StackItem(known[0], known[1], f"import {fact.target} at {module.path}:{fact.line}")
    rank = {c: i for i, c in enumerate(STACK_CATEGORIES)}
    return tuple(sorted(found.values(), key=lambda s: (rank.get(s.category, 99), s.name.lower())))


def detect_layers(project) -> tuple[Layer, ...]:
    if project is None:
        return ()
    folders: dict[str, set[str]] = {}
    files: Counter[str] = Counter()
    for module in project.summaries("source"):
        role = _role_of(module.path)
        if not role:
            continue
        files[role] += 1
        parts = posixpath.dirname(module.path).split("/")
        for index in range(len(parts), 0, -1):
            if ROLE_OF_FOLDER.get(parts[index - 1].lower()) == role:
                folders.setdefault(role, set()).add("/".join(parts[:index]) + "/")
                break
    return tuple(Layer(role, tuple(sorted(folders[role])), files[role])
                 for role in LAYER_ORDER if files.get(role))


def layer_uses(project) -> tuple[LayerUse, ...]:
    """Interface modules (routers, handlers) and what they import: data access directly,
    business logic, or both. Only modules importing at least one of them are listed."""
    if project is None:
        return ()
    uses = []
    for module in project.summaries("source"):
        if _role_of(module.path) != "interface":
            continue
        data: list[Location] = []
        business: list[Location] = []
        for fact in module.imports:
            target = project.module_named(fact.target) or _module_of_symbol(project, fact.target)
            if target is None or target.path == module.path:
                continue
            role = _role_of(target.path)
            if role == "data":
                data.append(Location(module.path, fact.line))
            elif role == "business":
                business.append(Location(module.path, fact.line))
        if data or business:
            uses.append(LayerUse(module.path, tuple(sorted(set(data))), tuple(sorted(set(business)))))
    return tuple(uses)


def _module_of_symbol(project, dotted: str):
    found = project.split_symbol(dotted)
    return found[0] if found else None


def layering_split(uses: tuple[LayerUse, ...]) -> bool:
    """True when some interface modules go through business logic and others skip it."""
    through = any(u.business for u in uses)
    direct_only = any(u.data and not u.business for u in uses)
    return through and direct_only


SQL_CALL_SUFFIXES = (".execute", ".executemany", ".exec_driver_sql", ".fetch", ".fetchrow",
                     ".fetchval")
SQL_TEXT_NAMES = ("sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text")
HASH_PREFIXES = ("passlib.", "bcrypt.", "argon2.", "pwdlib.")


def positives(result: AuditResult, metas: dict) -> tuple[Positive, ...]:
    project = result.project
    active = {f.rule_id for f in result.findings}
    reported = active | {s.finding.rule_id for s in result.suppressed}
    found: list[Positive] = []
    for finding in result.findings:
        if any(k == "positive" and v is True for k, v in finding.details):
            found.append(Positive("rule", (("rule", finding.rule_id),), (finding.location,),
                                  finding.message))
    if project is not None and "PA405" in result.rules_run and "PA405" not in reported:
        calls = [Location(m.path, c.line) for m in project.summaries("source") for c in m.calls
                 if c.name in SQL_TEXT_NAMES or c.callee.endswith(SQL_CALL_SUFFIXES)]
        found.append(Positive("sql", (("calls", len(calls)),), tuple(calls[:5])))
    if project is not None:
        hashing = [(m.path, c) for m in project.summaries("source") for c in m.calls
                   if c.name.startswith(HASH_PREFIXES)]
        if hashing:
            libraries = sorted({c.name.split(".")[0] for _, c in hashing})
            found.append(Positive("hashing", (("libraries", ", ".join(libraries)), ("calls", len(hashing))),
                                  tuple(Location(p, c.line) for p, c in hashing[:5])))
        migrations = project.files_of_kind("migration")
        if migrations:
            found.append(Positive("migrations", (("files", len(migrations)),)))
        tests = count_test_functions(project)  # the inventory's test_functions stat
        if tests:
            found.append(Positive("tests", (("tests", tests), ("files", len(project.summaries("test"))))))
        endpoints = project.routes.endpoints
        if endpoints:
            authed = sum(1 for e in endpoints if any(d.level != "nested" for d in e.auth))
            if authed:
                found.append(Positive("auth", (("auth", authed), ("total", len(endpoints)))))
            health = [e for e in endpoints if "health" in e.url.lower() or "ready" in e.url.lower()]
            if health:
                found.append(Positive("health", (("urls", ", ".join(sorted({e.label for e in health}))),),
                                      tuple(e.location for e in health[:3])))
        deps = project.dependencies.dependencies
        main = [d for d in deps if d.group == "main"]
        if main:
            pinned = sum(1 for d in main if d.status == "pinned")
            if pinned:
                found.append(Positive("pinned", (("pinned", pinned), ("total", len(main)))))
        if project.dependencies.lock_files:
            found.append(Positive("lock", (("files", ", ".join(project.dependencies.lock_files)),)))
        for key, params, locations in proven_practices(project):
            found.append(Positive(key, params, locations))
        checked = [s for s in project.deployment.services if s.healthcheck]
        if checked:
            found.append(Positive("healthchecks", (("services", ", ".join(sorted(s.name for s in checked))),),
                                  tuple(s.location for s in checked)))
    clean = [rule for rule in result.rules_run
             if rule not in reported and rule in metas and metas[rule].scored]
    if clean:
        found.append(Positive("clean", (("count", len(clean)), ("rules", ", ".join(clean)))))
    return tuple(found)


def coverage(result: AuditResult) -> Coverage:
    project = result.project
    kinds: Counter[str] = Counter()
    unparsed: list[str] = []
    if project is not None:
        kinds.update(f.kind for f in project.discovery.files)
        unparsed = sorted(m.path for m in project.summaries() if m.problem is not None)
    skipped = tuple((n.path, n.message) for n in result.notes if n.kind == "skipped")
    warnings = tuple(n.message for n in result.notes if n.kind in ("warning", "config"))
    return Coverage(tuple(sorted(kinds.items())), skipped, warnings, tuple(result.rules_run),
                    tuple(unparsed))


def is_positive(finding: Finding) -> bool:
    return any(k == "positive" and v is True for k, v in finding.details)
