from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.models import Book
from app.services import catalog


@pytest.fixture(autouse=True)
def no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    async def _miss(key: str) -> None:
        return None

    async def _store(key: str, value: object, ttl: int | None = None) -> None:
        return None

    monkeypatch.setattr(catalog, "cache_get_json", _miss)
    monkeypatch.setattr(catalog, "cache_set_json", _store)


async def test_list_books(client: AsyncClient, book: Book) -> None:
    await client.get("/books", params={"limit": 10})


async def test_get_book(client: AsyncClient, book: Book) -> None:
    response = await client.get(f"/books/{book.id}")
    assert response.status_code == 200
    assert response.json()["author"]["name"] == "Ada Palmer"


async def test_get_missing_book(client: AsyncClient) -> None:
    response = await client.get("/books/999999")
    assert response.status_code == 404


async def test_review_needs_login(client: AsyncClient, book: Book) -> None:
    response = await client.post(f"/books/{book.id}/reviews", json={"rating": 5, "body": "Loved it"})
    assert response.status_code == 401


async def test_review_rating_is_validated(client: AsyncClient, book: Book, auth_headers: dict[str, str]) -> None:
    response = await client.post(f"/books/{book.id}/reviews", json={"rating": 9}, headers=auth_headers)
    assert response.status_code == 422
