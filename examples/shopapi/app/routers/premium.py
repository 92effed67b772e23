from __future__ import annotations

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import get_current_user
from app.database import get_session
from app.models import User
from app.schemas.order import PaymentEvent, PremiumActivateIn
from app.schemas.user import UserOut
from app.services import payments

router = APIRouter(tags=["premium"])


@router.get("/status")
async def premium_status(user: User = Depends(get_current_user)) -> dict[str, object]:
    return {"premium": user.is_premium, "premium_until": user.premium_until}


@router.post("/activate", response_model=UserOut)
async def activate_premium(body: PremiumActivateIn, session: AsyncSession = Depends(get_session)) -> User:
    return await payments.activate_premium(session, body.user_id, body.plan, body.receipt)


@router.post("/webhook", status_code=status.HTTP_204_NO_CONTENT)
async def payment_webhook(
    request: Request,
    signature: str = Header(alias="X-Signature", max_length=128),
    session: AsyncSession = Depends(get_session),
) -> Response:
    payload = await request.body()
    if not payments.verify_signature(payload, signature):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Bad signature")
    try:
        event = PaymentEvent.model_validate_json(payload)
    except ValidationError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="Malformed event") from None
    await payments.handle_payment_event(session, event)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
