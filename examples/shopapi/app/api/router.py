"""Routes served under /api.

New mobile builds talk to /api/...; the old top-level paths stay until the
last app version that uses them is retired.
"""

from __future__ import annotations

from fastapi import APIRouter

from app import __version__
from app.routers import favorites

api_router = APIRouter()
api_router.include_router(favorites.router, prefix="/favorites")


@api_router.get("/health", tags=["meta"])
async def api_health() -> dict[str, bool]:
    return {"healthy": True}


@api_router.get("/version", tags=["meta"])
async def api_version() -> dict[str, str]:
    return {"version": __version__}
