from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.import_time import ImportTimeCall
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# Client objects and SDK set-up: created at import, they live in the settings module.
CLIENTS = {
    "redis.Redis": "Redis client", "redis.StrictRedis": "Redis client",
    "redis.from_url": "Redis client", "redis.Redis.from_url": "Redis client",
    "redis.ConnectionPool": "Redis connection pool", "redis.ConnectionPool.from_url": "Redis connection pool",
    "redis.asyncio.Redis": "Redis client", "redis.asyncio.from_url": "Redis client",
    "redis.asyncio.Redis.from_url": "Redis client", "redis.asyncio.ConnectionPool": "Redis connection pool",
    "redis.asyncio.ConnectionPool.from_url": "Redis connection pool", "aioredis.from_url": "Redis client",
    "aioredis.Redis": "Redis client",
    "httpx.Client": "HTTP client", "httpx.AsyncClient": "HTTP client",
    "aiohttp.ClientSession": "HTTP session", "requests.Session": "HTTP session",
    "sqlalchemy.create_engine": "database engine", "sqlmodel.create_engine": "database engine",
    "sqlalchemy.ext.asyncio.create_async_engine": "database engine",
    "aiogram.Bot": "Telegram bot", "telegram.Bot": "Telegram bot", "telebot.TeleBot": "Telegram bot",
    "telebot.async_telebot.AsyncTeleBot": "Telegram bot",
    "google.generativeai.configure": "Gemini SDK configuration", "google.genai.Client": "Gemini client",
    "openai.OpenAI": "OpenAI client", "openai.AsyncOpenAI": "OpenAI client",
    "anthropic.Anthropic": "Anthropic client", "anthropic.AsyncAnthropic": "Anthropic client",
    "boto3.client": "AWS client", "boto3.resource": "AWS resource",
    "motor.motor_asyncio.AsyncIOMotorClient": "MongoDB client", "pymongo.MongoClient": "MongoDB client",
    "elasticsearch.Elasticsearch": "Elasticsearch client",
    "elasticsearch.AsyncElasticsearch": "Elasticsearch client",
    "supabase.create_client": "Supabase client", "minio.Minio": "MinIO client",
    "kafka.KafkaProducer": "Kafka producer",
}
# These talk to the network (or the disk) during the import itself.
IO_NOW = {
    "psycopg2.connect": "database connection", "psycopg.connect": "database connection",
    "pymysql.connect": "database connection", "sqlite3.connect": "database connection",
    "pika.BlockingConnection": "RabbitMQ connection", "socket.create_connection": "socket connection",
    "urllib.request.urlopen": "HTTP request", "requests.get": "HTTP request",
    "requests.post": "HTTP request", "requests.request": "HTTP request", "requests.head": "HTTP request",
    "httpx.get": "HTTP request", "httpx.post": "HTTP request", "httpx.request": "HTTP request",
    "pyngrok.ngrok.connect": "ngrok tunnel",
}
HELPER_DEPTH = 3


def describe_library_call(name: str, callee: str) -> tuple[str, bool] | None:
    if name in IO_NOW:
        return IO_NOW[name], True
    if name in CLIENTS:
        return CLIENTS[name], False
    return None


def through_helper(project, module, call: ImportTimeCall):
    """A project function called at import that opens a client or does I/O within a few
    calls: (what, does I/O, where, the chain of function names) or None."""
    graph = project.callgraph
    start = graph.resolve_call(module, "", call.callee, call.name)
    if start is None:
        return None
    queue = [(start, (graph.nodes[start].fact.qualname,))]
    seen = {start}
    while queue:
        key, chain = queue.pop(0)
        node = graph.nodes[key]
        for inner in node.module.calls:
            if inner.scope != node.fact.qualname:
                continue
            what = describe_library_call(inner.name, inner.callee)
            if what is not None:
                return what[0], what[1], Location(node.module.path, inner.line), chain + (inner.callee,)
        if len(chain) < HELPER_DEPTH:
            for edge in graph.callees(key):
                if edge.kind == "call" and edge.callee not in seen and edge.callee in graph.nodes:
                    seen.add(edge.callee)
                    queue.append((edge.callee, chain + (graph.nodes[edge.callee].fact.qualname,)))
    return None


def describe(call: ImportTimeCall) -> tuple[str, bool] | None:
    """(what it is, whether it does I/O during the import) or None for harmless calls."""
    found = describe_library_call(call.name, call.callee)
    if found is not None:
        return found
    if call.callee.endswith(".ping") and "." in call.callee:
        return "connection check (ping)", True
    if call.name in ("open", "builtins.open", "io.open") and not call.in_with:
        writes = any(flag in call.mode for flag in "wax+")
        if writes:
            return f"file opened for writing (mode {call.mode!r})", True
        if call.target:
            return "file handle kept open", True
    return None


@register
class ImportTimeSideEffects(ProjectRule):
    """
    ## What it does
    Finds configuration modules (a `config`, `settings` or `conf` folder or file name,
    or a module defining a pydantic `BaseSettings` class) that create clients or open connections when they are imported: Redis clients and
    pools, HTTP clients, database engines, Telegram bots, LLM SDK clients and
    `genai.configure(...)`, network calls, connections, and files left open, at module
    level or in class bodies. One finding per module, listing everything it creates.

    ## Why is this bad?
    Everything imports the settings: the app, every worker, tests, Alembic, one-off
    scripts. Each of them then builds every client, reads API keys and, for connections
    and requests, needs the network just to start; a test cannot swap a client for a
    fake without patching a global, and the settings module becomes the place every
    dependency lives (seed 001 #14, "god object config"). Clients belong to the
    application's lifespan (created on startup, closed on shutdown) or to a dependency
    provider.

    ## Example
    ```python
    import httpx
    import redis.asyncio as redis
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        redis_url: str = "redis://localhost:6379/0"


    settings = Settings()
    redis_client = redis.from_url(settings.redis_url)
    http = httpx.AsyncClient(timeout=10)
    ```

    ## Use instead
    ```python
    import redis.asyncio as redis
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        redis_url: str = "redis://localhost:6379/0"


    settings = Settings()


    def make_redis():
        return redis.from_url(settings.redis_url)
    ```

    ## Known limitations
    Only modules named like configuration are checked (clients created at import
    elsewhere, e.g. `database.py` holding the engine, are the usual pattern and not
    reported). Clients are recognised from a list of well-known libraries; a file read
    inside `with open(...)` is not reported.
    """

    needs = ("import_time",)
    meta = RuleMeta(
        id="PA605", slug="import-time-side-effects", family="architecture",
        dimension=Dimension.ARCHITECTURE, severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="configuration module creates clients or opens connections at import "
                "(god-object config)",
        effort_minutes=60,
        fix="Keep the settings module to values; create clients in the app lifespan (or a "
            "dependency provider) from those values, and close them on shutdown.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        importers = importer_counts(project)
        for summary in project.summaries("source"):
            calls = summary.facts_of(ImportTimeCall)
            effects = [(call, *what) for call in calls if (what := describe(call)) is not None]
            helpers = []
            for call in calls:
                if describe(call) is None:
                    found = through_helper(project, summary, call)
                    if found is not None:
                        helpers.append((call, *found))
            effects += [(call, what, io) for call, what, io, _, _ in helpers]
            effects.sort(key=lambda e: e[0].line)
            if not effects:
                continue
            io_now = [e for e in effects if e[2]]
            first = io_now[0][0] if io_now else effects[0][0]
            evidence = [Evidence(Location(summary.path, call.line),
                                 f"{kind} {'made' if io else 'created'} at import: "
                                 f"`{call.target + ' = ' if call.target else ''}{call.callee}(...)`")
                        for call, kind, io in effects[:8]]
            for call, _, _, where, chain in helpers[:4]:
                evidence.append(Evidence(where, f"reached at import from `{call.callee}()` "
                                                f"(line {call.line}) via {' -> '.join(chain)}"))
            users = importers.get(summary.path, 0)
            if users:
                evidence.append(Evidence(Location(summary.path), f"imported by {users} project "
                                                                  f"module{'s' if users != 1 else ''}"))
            kinds = sorted({kind for _, kind, _ in effects})
            yield self.finding(
                f"Configuration module {summary.path} "
                f"{'does I/O' if io_now else 'creates clients'} at import "
                f"({', '.join(kinds[:4])}{', ...' if len(kinds) > 4 else ''}): every importer, "
                f"tests and migrations included, {'waits for it' if io_now else 'builds them'}",
                Location(summary.path, first.line),
                severity=Severity.MEDIUM if io_now else Severity.LOW,
                evidence=evidence,
                anchor=f"{summary.module}:import-time",
                details={"created_at_import": len(effects), "io_at_import": len(io_now),
                         "importers": users},
            )


def importer_counts(project) -> dict[str, int]:
    """Path -> how many other project modules import it (any kind)."""
    counts: dict[str, set[str]] = {}
    for summary in project.summaries():
        for fact in summary.imports:
            target = project.module_named(fact.target)
            if target is None:
                found = project.split_symbol(fact.target)
                target = found[0] if found else None
            if target is not None and target.path != summary.path:
                counts.setdefault(target.path, set()).add(summary.path)
    return {path: len(users) for path, users in counts.items()}
