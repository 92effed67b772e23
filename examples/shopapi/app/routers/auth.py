from __future__ import annotations

import time
from collections import defaultdict

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import get_current_user
from app.auth.security import create_access_token, hash_password, verify_password
from app.crud import users as crud_users
from app.database import get_session
from app.models import User
from app.schemas.user import LoginIn, Token, UserCreate, UserOut


class LoginRateLimiter:
    """Sliding-window limit on login attempts per client address and e-mail."""

    def __init__(self, max_attempts: int, window_seconds: float) -> None:
        self.max_attempts = max_attempts
        self.window_seconds = window_seconds
        self._attempts: defaultdict[str, list[float]] = defaultdict(list)

    def hit(self, key: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._attempts[key] if now - t < self.window_seconds]
        recent.append(now)
        self._attempts[key] = recent
        return len(recent) <= self.max_attempts

    def reset(self, key: str) -> None:
        self._attempts.pop(key, None)


login_limiter = LoginRateLimiter(max_attempts=5, window_seconds=60)

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/register", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def register(body: UserCreate, session: AsyncSession = Depends(get_session)) -> User:
    if await crud_users.get_user_by_email(session, body.email):
        raise HTTPException(status.HTTP_409_CONFLICT, detail="E-mail already registered")
    hashed = await run_in_threadpool(hash_password, body.password)
    return await crud_users.create_user(
        session, email=body.email, hashed_password=hashed, display_name=body.display_name
    )


@router.post("/login", response_model=Token)
async def login(body: LoginIn, request: Request, session: AsyncSession = Depends(get_session)) -> Token:
    client_host = request.client.host if request.client else "unknown"
    key = f"{client_host}:{body.email.lower()}"
    if not login_limiter.hit(key):
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail="Too many login attempts, try again later")

    user = await crud_users.get_user_by_email(session, body.email)
    if user is None or not await run_in_threadpool(verify_password, body.password, user.hashed_password):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="Wrong e-mail or password")
    if not user.is_active:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Account disabled")

    login_limiter.reset(key)
    return Token(access_token=create_access_token(str(user.id), is_admin=user.is_admin))


@router.get("/me", response_model=UserOut)
async def me(user: User = Depends(get_current_user)) -> User:
    return user
