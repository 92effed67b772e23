from __future__ import annotations

import pytest
from httpx import AsyncClient

from app.main import app
from app.models import Book
from app.services import orders as order_service


@pytest.fixture(autouse=True)
def quiet_warehouse(monkeypatch: pytest.MonkeyPatch) -> None:
    async def _noop(client: object, order_id: int) -> None:
        return None

    monkeypatch.setattr(order_service, "notify_warehouse", _noop)
    monkeypatch.setattr(app.state, "http", None, raising=False)


async def test_place_order(client: AsyncClient, book: Book, auth_headers: dict[str, str]) -> None:
    response = await client.post(
        "/orders", json={"items": [{"book_id": book.id, "quantity": 2}]}, headers=auth_headers
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["total_cents"] == 2 * book.price_cents


async def test_order_more_than_in_stock(client: AsyncClient, book: Book, auth_headers: dict[str, str]) -> None:
    response = await client.post(
        "/orders", json={"items": [{"book_id": book.id, "quantity": 10}]}, headers=auth_headers
    )
    assert response.status_code == 409


async def test_cancel_order(client: AsyncClient, book: Book, auth_headers: dict[str, str]) -> None:
    created = await client.post(
        "/orders", json={"items": [{"book_id": book.id, "quantity": 1}]}, headers=auth_headers
    )
    order_id = created.json()["id"]
    response = await client.post(f"/orders/{order_id}/cancel", headers=auth_headers)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
