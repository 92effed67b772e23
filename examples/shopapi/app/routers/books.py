from __future__ import annotations

from typing import Any

import requests
from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import get_current_user
from app.config import settings
from app.crud import books as crud_books
from app.database import get_session
from app.models import Review, User
from app.schemas.book import (
    BookListItem,
    BookOut,
    ReviewCreate,
    ReviewOut,
    SearchHit,
    SimilarBooks,
    TopRatedBook,
)
from app.services import catalog

router = APIRouter(prefix="/books", tags=["books"])


@router.get("", response_model=list[BookListItem])
async def list_books(offset: int = 0, limit: int = 100, session: AsyncSession = Depends(get_session)) -> Any:
    # TODO: move to cursor pagination once the mobile app stops sending `offset`
    return await crud_books.list_books(session, offset=offset, limit=limit)


@router.get("/search", response_model=list[SearchHit])
async def search_books(
    q: str = Query(min_length=2, max_length=100),
    session: AsyncSession = Depends(get_session),
) -> Any:
    return await crud_books.search_books(session, q)


@router.get("/top-rated", response_model=list[TopRatedBook])
async def top_rated(
    min_reviews: int = Query(5, ge=1),
    limit: int = Query(10, ge=1, le=50),
    session: AsyncSession = Depends(get_session),
) -> Any:
    return await crud_books.top_rated(session, min_reviews=min_reviews, limit=limit)


@router.get("/{book_id}", response_model=BookOut)
async def get_book(book_id: int, session: AsyncSession = Depends(get_session)) -> Any:
    book = await catalog.get_book_cached(session, book_id)
    if book is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Book not found")
    return book


@router.get("/{book_id}/similar", response_model=SimilarBooks)
async def similar_books(book_id: int) -> SimilarBooks:
    response = requests.get(f"{settings.recommender_url}/similar/{book_id}", params={"k": 10})
    if response.status_code != 200:
        return SimilarBooks(book_id=book_id, similar_ids=[])
    return SimilarBooks(book_id=book_id, similar_ids=response.json().get("ids", []))


@router.get("/{book_id}/reviews", response_model=list[ReviewOut])
async def list_reviews(
    book_id: int,
    limit: int = Query(20, ge=1, le=100),
    session: AsyncSession = Depends(get_session),
) -> Any:
    return await crud_books.list_reviews(session, book_id, limit=limit)


@router.post("/{book_id}/reviews", response_model=ReviewOut, status_code=status.HTTP_201_CREATED)
async def add_review(
    book_id: int,
    body: ReviewCreate,
    user: User = Depends(get_current_user),
    session: AsyncSession = Depends(get_session),
) -> Review:
    if await crud_books.get_book(session, book_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Book not found")
    return await crud_books.add_review(session, book_id=book_id, user_id=user.id, rating=body.rating, body=body.body)
