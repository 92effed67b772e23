"""Premium memberships and the payment provider's webhook."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta, timezone

from fastapi import HTTPException, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import settings
from app.crud import orders as crud_orders
from app.crud import users as crud_users
from app.models import OrderStatus, User
from app.schemas.order import PaymentEvent

log = logging.getLogger(__name__)


def verify_signature(payload: bytes, signature: str) -> bool:
    if not settings.payment_webhook_secret:
        log.error("payment webhook secret is not configured; rejecting webhook")
        return False
    expected = hmac.new(settings.payment_webhook_secret.encode(), payload, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def plan_duration(plan: str) -> timedelta:
    return timedelta(days=365) if plan == "yearly" else timedelta(days=30)


async def activate_premium(session: AsyncSession, user_id: int, plan: str, receipt: str) -> User:
    user = await crud_users.get_user(session, user_id)
    if user is None or not user.is_active:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="User not found")

    now = datetime.now(timezone.utc)
    start = user.premium_until if user.premium_until and user.premium_until > now else now
    user = await crud_users.set_premium_until(session, user, start + plan_duration(plan))
    print(f"premium activated for user {user.id} until {user.premium_until} (receipt {receipt[:8]}...)")
    return user


async def handle_payment_event(session: AsyncSession, event: PaymentEvent) -> None:
    order = await crud_orders.get_order_with_items(session, event.order_id)
    if order is None:
        log.warning("payment event %s for unknown order %s", event.payment_ref, event.order_id)
        return

    if event.type == "payment.succeeded":
        if order.status == OrderStatus.PAID:
            return  # provider retries deliveries; already handled
        if event.amount_cents != order.total_cents:
            log.error("amount mismatch for order %s: %s != %s", order.id, event.amount_cents, order.total_cents)
            return
        await crud_orders.mark_paid(session, order, payment_ref=event.payment_ref, paid_at=datetime.now(timezone.utc))
    elif event.type == "payment.refunded":
        await crud_orders.set_status(session, order, OrderStatus.CANCELLED)
    else:
        log.info("payment failed for order %s (%s)", order.id, event.payment_ref)
