from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.models import Book, Order, OrderItem, OrderStatus


async def create_order(session: AsyncSession, *, user_id: int, lines: list[tuple[Book, int]]) -> Order:
    order = Order(user_id=user_id, status=OrderStatus.PENDING)
    for book, quantity in lines:
        order.items.append(OrderItem(book_id=book.id, quantity=quantity, unit_price_cents=book.price_cents))
        book.stock -= quantity
    order.total_cents = sum(item.quantity * item.unit_price_cents for item in order.items)
    session.add(order)
    await session.commit()
    return await get_order_with_items(session, order.id)


async def get_order_with_items(session: AsyncSession, order_id: int) -> Order | None:
    stmt = select(Order).where(Order.id == order_id).options(selectinload(Order.items))
    result = await session.execute(stmt)
    return result.scalar_one_or_none()


async def list_user_orders(session: AsyncSession, user_id: int, *, before_id: int | None, limit: int) -> list[Order]:
    stmt = (
        select(Order)
        .where(Order.user_id == user_id)
        .options(selectinload(Order.items))
        .order_by(Order.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    result = await session.execute(stmt)
    return list(result.scalars().all())


async def set_status(session: AsyncSession, order: Order, status: OrderStatus) -> Order:
    order.status = status
    await session.commit()
    return order


async def mark_paid(session: AsyncSession, order: Order, *, payment_ref: str, paid_at: datetime) -> None:
    order.status = OrderStatus.PAID
    order.payment_ref = payment_ref
    order.paid_at = paid_at
    await session.commit()


async def expire_pending_before(session: AsyncSession, cutoff: datetime) -> int:
    stmt = (
        update(Order)
        .where(Order.status == OrderStatus.PENDING, Order.created_at < cutoff)
        .values(status=OrderStatus.EXPIRED)
    )
    result = await session.execute(stmt)
    await session.commit()
    return result.rowcount or 0


async def sales_totals_since(session: AsyncSession, since: datetime) -> tuple[int, int]:
    stmt = select(func.count(Order.id), func.coalesce(func.sum(Order.total_cents), 0)).where(
        Order.status == OrderStatus.PAID, Order.paid_at >= since
    )
    result = await session.execute(stmt)
    count, revenue = result.one()
    return int(count), int(revenue)
