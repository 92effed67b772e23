#!/usr/bin/env python3
"""Generate a deterministic synthetic Python backend for benchmarking prodaudit.

    python bench/generate.py --lines 200000 --out bench/corpus/synthetic [--seed 1]

The tree looks like a real FastAPI + SQLAlchemy + aiogram service grown large: an `app`
package with `core` (settings, database, dependencies), `domains/<area>/<domain>/`
packages (models with relationships, schemas, repository, async service, router with
Depends, bot handlers, background tasks, settings, partner API client) that use relative
imports, plus tests, Alembic migrations, a Dockerfile and docker-compose.yml.

Each domain is a copy of the templates in bench/templates/ with its own symbol names
(entity, child entity, operations, parts); files are grown to 150-250 lines by repeating
template "units" with fresh names. A few units carry production smells (print, TODO,
blocking calls in async defs, bare except, f-string SQL, hardcoded secret, ...) chosen by
a seeded RNG, so the same --seed and --lines give a byte-identical tree.

Template format (bench/templates/*.tmpl): sections `#@ header`, `#@ unit` (any number of
variants, picked at random per repetition), `#@ footer`; `{{name}}` placeholders; a line
ending in `  #?tag` is kept only when the tag is drawn for that section, one ending in
`  #!tag` only when it is not. bench/templates/fixed/ is copied verbatim.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
MARKER = ".bench-corpus.json"

# Domain templates, in the order they are written for each domain.
DOMAIN_FILES = ("models", "schemas", "repository", "service", "router", "handlers", "tasks",
                "settings", "clients")
MIN_LINES, MAX_LINES = 150, 250
TEST_EVERY = 5       # one test module per this many domains
MIGRATION_EVERY = 8  # one Alembic revision per this many domains

# Probability that a tagged smell is switched on in one section of one file.
TAG_ODDS = {
    "print": 0.15, "todo": 0.30, "blocking": 0.12, "bare": 0.05, "sqli": 0.05,
    "typing": 0.20, "secret": 0.03, "debug": 0.05, "task": 0.10, "naive": 0.15,
    "timeout": 0.10,
}

AREAS = ("billing", "catalog", "accounts", "logistics", "support", "marketing", "content",
         "analytics", "payments", "inventory", "booking", "messaging", "compliance", "partners")
MODIFIERS = ("partner", "vendor", "customer", "staff", "guest", "trial", "retail", "bulk",
             "regional", "seasonal", "legacy", "premium", "internal", "public", "draft",
             "shared", "mobile", "web", "batch", "local", "global", "archived", "pending",
             "scheduled", "recurring", "virtual", "physical", "priority", "standard", "express")
NOUNS = ("invoice", "order", "ticket", "shipment", "coupon", "campaign", "article", "report",
         "booking", "payout", "refund", "subscription", "voucher", "parcel", "contract",
         "listing", "review", "survey", "quote", "warehouse", "route", "driver", "venue",
         "event", "course", "lesson", "badge", "wallet", "transfer", "budget", "expense",
         "asset", "license", "device", "store", "menu", "recipe", "project", "sprint",
         "release", "incident", "alert", "channel", "playlist", "episode", "podcast",
         "album", "gallery", "bundle", "offer")
CHILDREN = ("line", "entry", "slot", "step", "member", "position", "segment", "leg", "seat",
            "unit")
PARTS = ("note", "tag", "revision", "attachment", "event", "snapshot", "share", "comment",
         "approval", "reminder", "label", "link", "rating", "flag", "mention", "audit",
         "checkpoint", "history", "draft", "watcher", "vote", "quota", "metric", "alias",
         "hold", "claim", "dispute", "mapping", "export", "preview")
OPS = ("archive", "approve", "publish", "suspend", "restore", "refresh", "sync", "verify",
       "reject", "escalate", "assign", "close", "reopen", "lock", "unlock", "promote",
       "demote", "expire", "renew", "cancel", "confirm", "dispatch", "settle", "reconcile",
       "recalculate", "notify", "flag", "review", "ingest", "export", "merge", "split",
       "rebuild", "reindex", "snooze", "pin", "unpin", "freeze", "thaw", "audit",
       "schedule", "retry", "finalize", "duplicate", "transfer", "migrate", "purge",
       "rotate", "tag", "untag")
STATUSES = ("draft", "active", "suspended", "archived")


@dataclass
class Template:
    name: str
    header: list[str]
    units: list[list[str]]
    footer: list[str]


def load_template(path: Path) -> Template:
    sections: dict[str, list[list[str]]] = {"header": [], "unit": [], "footer": []}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#@ "):
            kind = line[3:].strip()
            if kind not in sections:
                raise SystemExit(f"{path}: unknown section {kind!r}")
            current = []
            sections[kind].append(current)
            continue
        if current is None:
            raise SystemExit(f"{path}: text before the first #@ section")
        current.append(line)
    header = sections["header"][0] if sections["header"] else []
    footer = sections["footer"][0] if sections["footer"] else []
    return Template(path.name.removesuffix(".py.tmpl"), header, sections["unit"], footer)


TAG_LINE = re.compile(r"\s+#([?!])(\w+)$")
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def render(lines: list[str], names: dict[str, str], tags: set[str]) -> list[str]:
    out = []
    for line in lines:
        match = TAG_LINE.search(line)
        if match:
            wanted = match.group(1) == "?"
            if (match.group(2) in tags) != wanted:
                continue
            line = line[:match.start()]

        def sub(m: re.Match) -> str:
            try:
                return names[m.group(1)]
            except KeyError:
                raise SystemExit(f"unknown placeholder {{{{{m.group(1)}}}}}") from None

        out.append(PLACEHOLDER.sub(sub, line))
    return out


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


@dataclass
class Domain:
    area: str
    name: str          # package name, e.g. partner_invoice
    child: str         # e.g. line
    ops: list[str]
    statuses: dict[str, str]
    sibling: str = ""
    index: int = 0

    @property
    def names(self) -> dict[str, str]:
        words = self.name.split("_")
        other = f"{self.name}_{self.child}"
        return {
            "domain": self.name, "area": self.area,
            "Entity": camel(self.name), "entity": self.name,
            "entities": "_".join(words[:-1] + [plural(words[-1])]),
            "Other": camel(other), "other": other, "others": f"{self.name}_{plural(self.child)}",
            "ENV": self.name.upper(), "sibling": self.sibling or self.name,
        }


@dataclass
class Generator:
    seed: int
    out: Path
    rng: random.Random = field(init=False)
    files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.templates = {p.name.removesuffix(".py.tmpl"): load_template(p)
                          for p in sorted(TEMPLATES.glob("*.py.tmpl"))}

    def tags(self) -> set[str]:
        return {tag for tag, odds in sorted(TAG_ODDS.items()) if self.rng.random() < odds}

    def unit_names(self, domain: Domain, k: int, parts: list[str]) -> dict[str, str]:
        op = domain.ops[k % len(domain.ops)]
        if k >= len(domain.ops):
            op = f"{op}_{k // len(domain.ops) + 1}"
        part = parts[k % len(parts)]
        if k >= len(parts):
            part = f"{part}{k // len(parts) + 1}"
        return {"op": op, "Op": camel(op), "OP": op.upper(), "part": part, "Part": camel(part),
                "parts": plural(part), "PART": part.upper(),
                "status": domain.statuses[op.split("_")[0]]}

    def grow(self, template: Template, names: dict[str, str], domain: Domain,
             sized: bool = True) -> str:
        """Header, then units until the file is 150-250 lines, then the footer."""
        rng = self.rng
        head = render(template.header, names, self.tags())
        foot = render(template.footer, names, self.tags())
        target = rng.randint(MIN_LINES, MAX_LINES) if sized else 0
        parts = rng.sample(PARTS, len(PARTS))
        body: list[str] = []
        k = 0
        while template.units and k < 60:
            unit = rng.choice(template.units)
            text = render(unit, {**names, **self.unit_names(domain, k, parts)}, self.tags())
            total = len(head) + len(body) + len(foot)
            if not sized and k >= 2:
                break
            if sized and total + len(text) > target and total >= MIN_LINES:
                break
            body.extend(text)
            k += 1
        return "\n".join(head + body + foot).rstrip("\n") + "\n"

    def new_domain(self, area: str, used: set[str], index: int) -> Domain:
        rng = self.rng
        while True:
            name = f"{rng.choice(MODIFIERS)}_{rng.choice(NOUNS)}"
            if name not in used:
                used.add(name)
                break
        ops = rng.sample(OPS, 16)
        statuses = {op: rng.choice(STATUSES[1:]) for op in OPS}
        return Domain(area, name, rng.choice(CHILDREN), ops, statuses, index=index)

    def add(self, path: str, text: str) -> None:
        self.files[path] = text

    def generate(self, lines: int) -> None:
        # The fixed part: core package, deployment files.
        for path in sorted(p for p in (TEMPLATES / "fixed").rglob("*") if p.is_file()):
            # Python files are stored as .py.tmpl so that no tool lints them as our code.
            rel = path.relative_to(TEMPLATES / "fixed").as_posix().removesuffix(".tmpl")
            self.add(rel, path.read_text(encoding="utf-8"))
        used: set[str] = set()
        by_area: dict[str, list[Domain]] = {}
        domains: list[Domain] = []
        area_order = list(AREAS)
        self.rng.shuffle(area_order)
        reserve = 600  # lines of the app-level modules written after the domains
        while self.py_lines() + reserve < lines:
            area = area_order[len(domains) % len(area_order)]
            domain = self.new_domain(area, used, len(domains))
            siblings = by_area.setdefault(area, [])
            domain.sibling = siblings[-1].name if siblings else ""
            siblings.append(domain)
            domains.append(domain)
            self.write_domain(domain)
        self.write_app(by_area, domains)

    def write_domain(self, domain: Domain) -> None:
        names = domain.names
        base = f"app/domains/{domain.area}/{domain.name}"
        self.add(f"{base}/__init__.py", self.grow(self.templates["__init__"], names, domain, sized=False))
        for name in DOMAIN_FILES:
            self.add(f"{base}/{name}.py", self.grow(self.templates[name], names, domain))
        if domain.index % TEST_EVERY == 0:
            self.add(f"tests/{domain.area}/test_{domain.name}.py",
                     self.grow(self.templates["test_domain"], names, domain, sized=False))
        if domain.index % MIGRATION_EVERY == 0:
            number = domain.index // MIGRATION_EVERY
            rev = hashlib.sha256(f"{self.seed}:{domain.name}".encode()).hexdigest()[:12]
            down = getattr(self, "_last_rev", None)
            self._last_rev = rev
            names = {**names, "rev": rev, "down_rev": down or "<base>",
                     "down_rev_literal": repr(down)}
            self.add(f"alembic/versions/{number + 1:04d}_{domain.name}.py",
                     self.grow(self.templates["migration"], names, domain, sized=False))

    def write_app(self, by_area: dict[str, list[Domain]], domains: list[Domain]) -> None:
        areas = sorted(by_area)
        for area in areas:
            members = by_area[area]
            mods = ", ".join(d.name for d in members)
            text = [f'"""The {area} area: {len(members)} domains, one API router and one bot router."""',
                    "", "from aiogram import Router", "from fastapi import APIRouter", "",
                    f"from . import {mods}" if len(mods) < 80 else
                    "from . import (\n" + "".join(f"    {d.name},\n" for d in members) + ")",
                    "", f'router = APIRouter(prefix="/{area}")',
                    f'bot_router = Router(name="{area}")', "",
                    "DOMAINS = (\n" + "".join(f"    {d.name},\n" for d in members) + ")", "",
                    "for domain in DOMAINS:",
                    "    router.include_router(domain.router)",
                    "    bot_router.include_router(domain.bot_router)", ""]
            self.add(f"app/domains/{area}/__init__.py", "\n".join(text))
        self.add("app/domains/__init__.py", "\n".join(
            ['"""Every business area of the application."""', "",
             "from . import (\n" + "".join(f"    {a},\n" for a in areas) + ")", "",
             "AREAS = (\n" + "".join(f"    {a},\n" for a in areas) + ")", ""]))
        api = ['"""Versioned HTTP API: every area router under /api/v1."""', "",
               "from fastapi import APIRouter", "",
               "from .domains import " + ", ".join(areas[:4]) + ", AREAS", "",
               'api_router = APIRouter(prefix="/api/v1")', ""]
        api += [f"api_router.include_router({a}.router)" for a in areas[:4]]
        api += ["", "for area in AREAS[4:]:", "    api_router.include_router(area.router)", ""]
        self.add("app/api.py", "\n".join(api))
        self.add("app/main.py", MAIN_PY)
        self.add("app/bot.py", BOT_PY)
        worker = ['"""Scheduler process: runs the JOBS of every domain on an interval."""', "",
                  "from __future__ import annotations", "", "import asyncio", "import logging", ""]
        for d in domains:
            worker.append(f"from app.domains.{d.area}.{d.name} import tasks as {d.name}_tasks")
        worker += ["", "logger = logging.getLogger(__name__)", "", "JOBS = {}",
                   "for module in ("]
        worker += [f"    {d.name}_tasks," for d in domains]
        worker += ["):", "    JOBS.update(module.JOBS)", "", WORKER_TAIL]
        self.add("app/worker.py", "\n".join(worker))
        self.add("tests/__init__.py", "")
        for area in sorted({d.area for d in domains if d.index % TEST_EVERY == 0}):
            self.add(f"tests/{area}/__init__.py", "")
        self.add("tests/conftest.py", CONFTEST_PY)

    def py_lines(self) -> int:
        return sum(text.count("\n") for path, text in self.files.items() if path.endswith(".py"))

    def check(self) -> None:
        for path, text in sorted(self.files.items()):
            if path.endswith(".py"):
                try:
                    ast.parse(text, path)
                except SyntaxError as exc:
                    raise SystemExit(f"generated invalid Python: {path}:{exc.lineno}: {exc.msg}")

    def write(self, meta: dict) -> None:
        out = self.out
        if out.exists():
            if not (out / MARKER).exists() and any(out.iterdir()):
                raise SystemExit(f"{out} exists and is not a generated corpus; not touching it")
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for path, text in sorted(self.files.items()):
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        (out / MARKER).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


MAIN_PY = '''"""ASGI entry point: FastAPI app with the versioned API, health checks and error mapping."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text

from .api import api_router
from .core.config import settings
from .core.database import engine
from .core.errors import DomainError
from .core.logging import configure_logging


@asynccontextmanager
async def lifespan(app: FastAPI):
    configure_logging(json_lines=settings.environment == "production")
    app.state.http = httpx.AsyncClient(timeout=settings.http_timeout)
    try:
        yield
    finally:
        await app.state.http.aclose()
        await engine.dispose()


app = FastAPI(title="synthetic", lifespan=lifespan, docs_url=None if not settings.debug else "/docs")
app.add_middleware(
    CORSMiddleware,
    allow_origins=settings.cors_origins,
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
app.include_router(api_router)


@app.exception_handler(DomainError)
async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return JSONResponse(status_code=exc.status_code, content={"detail": str(exc)})


@app.get("/health", include_in_schema=False)
async def health() -> dict:
    return {"status": "ok"}


@app.get("/ready", include_in_schema=False)
async def ready() -> dict:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"status": "ready"}
'''

BOT_PY = '''"""Telegram bot process (long polling): `python -m app.bot`."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage

from .core.config import settings
from .core.logging import configure_logging
from .domains import AREAS


async def main() -> None:
    configure_logging()
    bot = Bot(token=settings.bot_token.get_secret_value())
    dp = Dispatcher(storage=RedisStorage.from_url(str(settings.redis_url)))
    for area in AREAS:
        dp.include_router(area.bot_router)
    logging.getLogger(__name__).info("bot starting")
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())


if __name__ == "__main__":
    asyncio.run(main())
'''

WORKER_TAIL = '''
async def run_forever(interval: float = 300.0) -> None:
    while True:
        for name, job in sorted(JOBS.items()):
            try:
                await job()
            except Exception:
                logger.exception("job %s failed", name)
        await asyncio.sleep(interval)


if __name__ == "__main__":
    asyncio.run(run_forever())
'''

CONFTEST_PY = '''import pytest


@pytest.fixture
def auth_headers() -> dict[str, str]:
    return {"Authorization": "Bearer test-token"}
'''


def generator_version() -> str:
    """Hash of this script and the templates: a changed generator means a new corpus."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        digest.update(path.relative_to(TEMPLATES).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_marker(out: Path) -> dict | None:
    try:
        return json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def generate(lines: int, out: Path, seed: int = 1, quiet: bool = False) -> dict:
    gen = Generator(seed, out)
    gen.generate(lines)
    gen.check()
    py = [p for p in gen.files if p.endswith(".py")]
    meta = {"generator": generator_version(), "seed": seed, "lines_requested": lines,
            "py_files": len(py), "py_lines": gen.py_lines(), "files": len(gen.files)}
    gen.write(meta)
    if not quiet:
        print(f"generated {out}: {meta['py_files']} .py files, {meta['py_lines']} lines "
              f"({meta['files']} files in all), seed {seed}")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000, help="about this many lines of Python")
    parser.add_argument("--out", type=Path, default=HERE / "corpus" / "synthetic")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.lines < 1000:
        parser.error("--lines must be at least 1000")
    generate(args.lines, args.out, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
