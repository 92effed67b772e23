"""Order placement, listing and housekeeping."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta, timezone

import httpx
from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import settings
from app.crud import books as crud_books
from app.crud import orders as crud_orders
from app.database import SessionLocal
from app.models import Order, OrderStatus, User
from app.schemas.order import OrderCreate

log = logging.getLogger(__name__)


async def place_order(session: AsyncSession, user: User, data: OrderCreate) -> Order:
    quantities: dict[int, int] = {}
    for item in data.items:
        quantities[item.book_id] = quantities.get(item.book_id, 0) + item.quantity

    books = await crud_books.get_books_by_ids(session, list(quantities))
    missing = sorted(set(quantities) - set(books))
    if missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Unknown books: {missing}")

    # FIXME: stock check and decrement are not atomic; two concurrent orders can oversell
    short = [book_id for book_id, qty in quantities.items() if books[book_id].stock < qty]
    if short:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"Not enough stock for: {short}")

    lines = [(books[book_id], qty) for book_id, qty in quantities.items()]
    order = await crud_orders.create_order(session, user_id=user.id, lines=lines)
    log.info("order %s placed by user %s (%d cents)", order.id, user.id, order.total_cents)
    return order


async def get_user_order(session: AsyncSession, user: User, order_id: int) -> Order:
    order = await crud_orders.get_order_with_items(session, order_id)
    if order is None or (order.user_id != user.id and not user.is_admin):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Order not found")
    return order


async def list_orders(session: AsyncSession, user: User, *, before_id: int | None, limit: int) -> list[Order]:
    return await crud_orders.list_user_orders(session, user.id, before_id=before_id, limit=limit)


async def cancel_order(session: AsyncSession, user: User, order_id: int) -> Order:
    order = await get_user_order(session, user, order_id)
    if order.status != OrderStatus.PENDING:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"Order is {order.status}")
    return await crud_orders.set_status(session, order, OrderStatus.CANCELLED)


async def notify_warehouse(client: httpx.AsyncClient, order_id: int) -> None:
    """Tell the warehouse a new order exists; it pulls the details itself."""
    try:
        response = await client.post(f"{settings.warehouse_url}/orders", json={"order_id": order_id})
        response.raise_for_status()
    except httpx.HTTPError:
        log.exception("warehouse notification failed for order %s", order_id)


async def expire_stale_orders() -> int:
    cutoff = datetime.now(timezone.utc) - timedelta(minutes=settings.order_expiry_minutes)
    async with SessionLocal() as session:
        return await crud_orders.expire_pending_before(session, cutoff)


async def build_sales_report(since: date) -> dict[str, int | str]:
    start = datetime.combine(since, time.min, tzinfo=timezone.utc)
    async with SessionLocal() as session:
        count, revenue = await crud_orders.sales_totals_since(session, start)
    return {"since": since.isoformat(), "orders": count, "revenue_cents": revenue}


def format_price(cents: int, currency: str = "EUR") -> str:
    return f"{cents / 100:.2f} {currency}"
