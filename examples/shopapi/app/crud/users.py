from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import User


async def get_user(session: AsyncSession, user_id: int) -> Optional[User]:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> Optional[User]:
    result = await session.execute(select(User).where(User.email == email.lower()))
    return result.scalar_one_or_none()


async def create_user(session: AsyncSession, *, email: str, hashed_password: str, display_name: str) -> User:
    user = User(email=email.lower(), hashed_password=hashed_password, display_name=display_name)
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user


async def list_users(session: AsyncSession, *, after_id: int = 0, limit: int = 50) -> list[User]:
    stmt = select(User).where(User.id > after_id).order_by(User.id).limit(limit)
    result = await session.execute(stmt)
    return list(result.scalars().all())


async def set_premium_until(session: AsyncSession, user: User, until: datetime) -> User:
    user.premium_until = until
    await session.commit()
    await session.refresh(user)
    return user


async def deactivate_user(session: AsyncSession, user: User) -> None:
    user.is_active = False
    await session.commit()
