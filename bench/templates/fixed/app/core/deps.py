"""Shared FastAPI dependencies: current user, admin check, HTTP client."""

from __future__ import annotations

import httpx
import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from .config import settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


class CurrentUser:
    def __init__(self, id: int, is_admin: bool = False) -> None:
        self.id = id
        self.is_admin = is_admin


async def get_current_user(token: str = Depends(oauth2_scheme)) -> CurrentUser:
    try:
        payload = jwt.decode(token, settings.secret_key.get_secret_value(), algorithms=[settings.jwt_algorithm])
    except jwt.PyJWTError:
        raise HTTPException(status_code=status.HTTP_401_UNAUTHORIZED, detail="invalid token")
    return CurrentUser(int(payload["sub"]), bool(payload.get("admin")))


async def require_admin(user: CurrentUser = Depends(get_current_user)) -> CurrentUser:
    if not user.is_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="admins only")
    return user


async def get_http_client(request: Request) -> httpx.AsyncClient:
    return request.app.state.http
