"""Small JSON cache on top of Redis."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from app.config import settings

redis_client: Redis = Redis.from_url(settings.redis_url, decode_responses=True)


def book_key(book_id: int) -> str:
    return f"book:{book_id}"


async def cache_get_json(key: str) -> Any | None:
    raw = await redis_client.get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except:
        pass
    return None


async def cache_set_json(key: str, value: Any, ttl: int | None = None) -> None:
    payload = json.dumps(value, default=str)
    await redis_client.set(key, payload, ex=ttl or settings.cache_ttl_seconds)


async def cache_delete(*keys: str) -> None:
    if keys:
        await redis_client.delete(*keys)
