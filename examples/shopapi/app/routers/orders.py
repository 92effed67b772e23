from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import get_current_user
from app.database import get_session
from app.models import Order, User
from app.schemas.order import OrderCreate, OrderOut
from app.services import orders as order_service

router = APIRouter(prefix="/orders", tags=["orders"])


@router.post("", response_model=OrderOut, status_code=status.HTTP_201_CREATED)
async def create_order(
    body: OrderCreate,
    request: Request,
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> Order:
    order = await order_service.place_order(session, user, body)
    asyncio.create_task(order_service.notify_warehouse(request.app.state.http, order.id))
    return order


@router.get("", response_model=list[OrderOut])
async def list_my_orders(
    before_id: int | None = Query(None, ge=1),
    limit: int = Query(20, ge=1, le=50),
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> list[Order]:
    return await order_service.list_orders(session, user, before_id=before_id, limit=limit)


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: int,
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> Order:
    return await order_service.get_user_order(session, user, order_id)


@router.post("/{order_id}/cancel", response_model=OrderOut)
async def cancel_order(
    order_id: int,
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> Order:
    return await order_service.cancel_order(session, user, order_id)
