"""Catalogue helpers: cached book lookups and cover art from the covers API."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import book_key, cache_get_json, cache_set_json
from app.config import settings
from app.crud import books as crud_books
from app.models import Book
from app.schemas.book import BookOut

log = logging.getLogger(__name__)

COVER_FETCH_ATTEMPTS = 3


async def get_book_cached(session: AsyncSession, book_id: int) -> dict[str, Any] | None:
    cached = await cache_get_json(book_key(book_id))
    if cached is not None:
        return cached
    book = await crud_books.get_book(session, book_id)
    if book is None:
        return None
    data = BookOut.model_validate(book).model_dump(mode="json")
    await cache_set_json(book_key(book_id), data)
    return data


async def fetch_cover_url(isbn: str) -> str | None:
    client = httpx.AsyncClient(base_url=settings.covers_api_url, timeout=5.0)
    response = await client.get(f"/isbn/{isbn}.json")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json().get("cover", {}).get("large")


async def refresh_cover(session: AsyncSession, book: Book) -> str | None:
    """Look the cover up again; the covers API is flaky, so retry a couple of times."""
    for attempt in range(1, COVER_FETCH_ATTEMPTS + 1):
        try:
            url = await fetch_cover_url(book.isbn)
        except httpx.HTTPError:
            log.warning("cover lookup for %s failed (attempt %d)", book.isbn, attempt, exc_info=True)
            time.sleep(1)
            continue
        if url:
            await crud_books.set_cover_url(session, book, url)
        return url
    return None
