from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.api.router import api_router
from app.background.jobs import job_runner
from app.background.scheduler import run_order_cleanup
from app.cache import redis_client
from app.config import settings
from app.database import engine, get_session
from app.routers import admin, auth, books, favorites, orders, premium

logging.basicConfig(
    level=settings.log_level,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
log = logging.getLogger("shopapi")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
    job_runner.start()
    app.state.cleanup_task = asyncio.create_task(run_order_cleanup(settings.cleanup_interval_seconds))
    log.info("%s %s started (%s)", settings.app_name, __version__, settings.environment)

    yield

    await job_runner.stop()
    await app.state.http.aclose()
    await redis_client.aclose()
    await engine.dispose()
    log.info("%s stopped", settings.app_name)


app = FastAPI(title="Shop API", version=__version__, lifespan=lifespan)

app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)

app.include_router(auth.router)
app.include_router(books.router)
app.include_router(orders.router)
app.include_router(favorites.router, prefix="/favorites")
app.include_router(premium.router, prefix="/premium")
app.include_router(admin.router)
app.include_router(api_router, prefix="/api")


@app.get("/health", tags=["meta"])
async def health(session: AsyncSession = Depends(get_session)) -> dict[str, str]:
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
