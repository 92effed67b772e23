"""Fixed-window rate limiting on Redis, as a FastAPI dependency factory."""

from __future__ import annotations

from fastapi import Depends, HTTPException, Request

from .cache import cache
from .deps import get_current_user


def rate_limit(bucket: str, per_minute: int = 60):
    async def dependency(request: Request, user=Depends(get_current_user)) -> None:
        key = f"rl:{bucket}:{user.id}"
        count = await cache.client.incr(key)
        if count == 1:
            await cache.client.expire(key, 60)
        if count > per_minute:
            raise HTTPException(status_code=429, detail="too many requests")

    return dependency
