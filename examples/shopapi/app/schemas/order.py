from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class OrderItemIn(BaseModel):
    book_id: int
    quantity: int = Field(ge=1, le=20)


class OrderCreate(BaseModel):
    items: list[OrderItemIn] = Field(min_length=1, max_length=50)


class OrderItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    book_id: int
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    total_cents: int
    created_at: datetime
    paid_at: datetime | None = None
    items: list[OrderItemOut] = []


class PremiumActivateIn(BaseModel):
    user_id: int
    plan: Literal["monthly", "yearly"]
    receipt: str = Field(min_length=8, max_length=512)


class PaymentEvent(BaseModel):
    type: Literal["payment.succeeded", "payment.failed", "payment.refunded"]
    payment_ref: str = Field(max_length=64)
    order_id: int
    amount_cents: int = Field(ge=0)


class SalesReportIn(BaseModel):
    since: date


class JobOut(BaseModel):
    job_id: str
    status: str
    result: dict[str, Any] | None = None
