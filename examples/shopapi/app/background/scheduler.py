"""Periodic housekeeping that runs alongside the API."""

from __future__ import annotations

import asyncio
import logging

from app.services.orders import expire_stale_orders

log = logging.getLogger(__name__)


async def run_order_cleanup(interval_seconds: int) -> None:
    """Mark orders that were never paid as expired."""
    log.info("order cleanup running every %ss", interval_seconds)
    while True:
        try:
            expired = await expire_stale_orders()
            if expired:
                log.info("expired %d stale orders", expired)
        except Exception:
            pass
        await asyncio.sleep(interval_seconds)
