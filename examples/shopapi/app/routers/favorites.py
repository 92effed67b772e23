from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import get_current_user
from app.crud import books as crud_books
from app.database import get_session
from app.models import Favorite, User
from app.schemas.book import FavoriteOut

router = APIRouter(tags=["favorites"])


@router.get("", response_model=list[FavoriteOut])
async def my_favorites(
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> list[Favorite]:
    return await crud_books.list_favorites(session, user.id)


@router.put("/{book_id}", status_code=status.HTTP_204_NO_CONTENT)
async def add_favorite(
    book_id: int,
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> Response:
    if await crud_books.get_book(session, book_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Book not found")
    await crud_books.add_favorite(session, user_id=user.id, book_id=book_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{book_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_favorite(
    book_id: int,
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> Response:
    await crud_books.remove_favorite(session, user_id=user.id, book_id=book_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
