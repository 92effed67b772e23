"""Password hashing and access tokens."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from passlib.context import CryptContext

from app.config import settings

pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")


def hash_password(password: str) -> str:
    return pwd_context.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return pwd_context.verify(password, hashed)


def create_access_token(subject: str, *, is_admin: bool = False, expires_minutes: int | None = None) -> str:
    now = datetime.now(timezone.utc)
    lifetime = timedelta(minutes=expires_minutes or settings.access_token_minutes)
    payload: dict[str, Any] = {
        "sub": subject,
        "adm": is_admin,
        "iat": now,
        "exp": now + lifetime,
    }
    return jwt.encode(payload, settings.secret_key, algorithm=settings.jwt_algorithm)


def decode_access_token(token: str) -> dict[str, Any]:
    """Decode and verify a token; raises jwt.PyJWTError when it is invalid or expired."""
    return jwt.decode(token, settings.secret_key, algorithms=[settings.jwt_algorithm])
