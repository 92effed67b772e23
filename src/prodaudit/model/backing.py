"""Backing services the code connects to (databases, caches), found where their client or
engine is constructed. Rules ask "does this app depend on a database?" here instead of
guessing from dependency lists: a declared but unused `redis` is not a dependency of the
running app.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location

DATABASE_CONSTRUCTORS = frozenset({
    "sqlalchemy.create_engine", "sqlalchemy.ext.asyncio.create_async_engine",
    "sqlmodel.create_engine", "asyncpg.create_pool", "asyncpg.connect", "databases.Database",
    "motor.motor_asyncio.AsyncIOMotorClient", "pymongo.MongoClient",
    "psycopg_pool.AsyncConnectionPool", "psycopg_pool.ConnectionPool", "psycopg.connect",
    "psycopg.AsyncConnection.connect", "psycopg2.connect", "psycopg2.pool.SimpleConnectionPool",
    "psycopg2.pool.ThreadedConnectionPool", "aiomysql.create_pool", "tortoise.Tortoise.init",
})
CACHE_CONSTRUCTORS = frozenset({
    "redis.Redis", "redis.StrictRedis", "redis.from_url", "redis.Redis.from_url",
    "redis.asyncio.Redis", "redis.asyncio.from_url", "redis.asyncio.Redis.from_url",
    "redis.asyncio.client.Redis", "redis.asyncio.StrictRedis", "aioredis.from_url",
    "aioredis.Redis", "aioredis.create_redis_pool",
})


@dataclass(frozen=True)
class BackingService:
    kind: str  # database, cache
    constructor: str  # resolved name of what creates the client
    location: Location


def backing_services(project) -> tuple[BackingService, ...]:
    """Every construction of a database engine/pool or Redis client in source code. An
    in-process SQLite database is not a service that can be down, so it is left out when
    its URL is a literal."""
    found = []
    for module in project.summaries("source"):
        for call in module.calls:
            if call.name in DATABASE_CONSTRUCTORS:
                url = call.args[0] if call.args else call.keyword("url")
                if url is not None and url.kind == "const" and str(url.const).startswith("sqlite"):
                    continue
                found.append(BackingService("database", call.name, Location(module.path, call.line)))
            elif call.name in CACHE_CONSTRUCTORS:
                found.append(BackingService("cache", call.name, Location(module.path, call.line)))
    return tuple(found)
