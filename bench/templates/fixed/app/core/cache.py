"""A small JSON cache over Redis."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as redis

from .config import settings


class Cache:
    def __init__(self, url: str) -> None:
        self.client = redis.from_url(url, decode_responses=True)

    async def get(self, key: str) -> Any:
        raw = await self.client.get(key)
        return json.loads(raw) if raw is not None else None

    async def set(self, key: str, value: Any, ttl: int = 300) -> None:
        await self.client.set(key, json.dumps(value, default=str), ex=ttl)

    async def delete(self, key: str) -> None:
        await self.client.delete(key)


cache = Cache(str(settings.redis_url))
