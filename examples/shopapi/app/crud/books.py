from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.models import Book, Favorite, Review
from app.schemas.book import BookCreate, BookUpdate


async def get_book(session: AsyncSession, book_id: int) -> Book | None:
    return await session.get(Book, book_id, options=[joinedload(Book.author)])


async def get_books_by_ids(session: AsyncSession, book_ids: list[int]) -> dict[int, Book]:
    result = await session.execute(select(Book).where(Book.id.in_(book_ids)))
    return {book.id: book for book in result.scalars()}


async def list_books(session: AsyncSession, *, offset: int, limit: int) -> list[dict[str, Any]]:
    result = await session.execute(select(Book).order_by(Book.title).offset(offset).limit(limit))
    items = []
    for book in result.scalars().all():
        author = await book.awaitable_attrs.author
        items.append(
            {
                "id": book.id,
                "title": book.title,
                "author_name": author.name,
                "price_cents": book.price_cents,
                "cover_url": book.cover_url,
            }
        )
    return items


async def search_books(session: AsyncSession, q: str, limit: int = 20) -> list[dict[str, Any]]:
    result = await session.execute(
        text(f"SELECT id, title, isbn FROM books WHERE title ILIKE '%{q}%' ORDER BY title LIMIT {limit}")
    )
    return [dict(row) for row in result.mappings()]


async def top_rated(session: AsyncSession, *, min_reviews: int, limit: int) -> list[dict[str, Any]]:
    stmt = text(
        """
        SELECT b.id, b.title, avg(r.rating)::float AS rating, count(*) AS review_count
        FROM books b
        JOIN reviews r ON r.book_id = b.id
        GROUP BY b.id, b.title
        HAVING count(*) >= :min_reviews
        ORDER BY rating DESC, review_count DESC
        LIMIT :limit
        """
    )
    result = await session.execute(stmt, {"min_reviews": min_reviews, "limit": limit})
    return [dict(row) for row in result.mappings()]


async def create_book(session: AsyncSession, data: BookCreate) -> Book:
    book = Book(**data.model_dump())
    session.add(book)
    await session.commit()
    return await get_book(session, book.id)


async def update_book(session: AsyncSession, book: Book, data: BookUpdate) -> Book:
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(book, field, value)
    await session.commit()
    await session.refresh(book)
    return book


async def set_cover_url(session: AsyncSession, book: Book, url: str) -> None:
    book.cover_url = url
    await session.commit()


async def list_reviews(session: AsyncSession, book_id: int, *, limit: int) -> list[Review]:
    stmt = select(Review).where(Review.book_id == book_id).order_by(Review.created_at.desc()).limit(limit)
    result = await session.execute(stmt)
    return list(result.scalars().all())


async def add_review(session: AsyncSession, *, book_id: int, user_id: int, rating: int, body: str) -> Review:
    review = Review(book_id=book_id, user_id=user_id, rating=rating, body=body)
    session.add(review)
    await session.commit()
    await session.refresh(review)
    return review


async def list_favorites(session: AsyncSession, user_id: int) -> list[Favorite]:
    stmt = select(Favorite).where(Favorite.user_id == user_id).order_by(Favorite.created_at.desc())
    result = await session.execute(stmt)
    return list(result.scalars().all())


async def add_favorite(session: AsyncSession, *, user_id: int, book_id: int) -> None:
    stmt = insert(Favorite).values(user_id=user_id, book_id=book_id).on_conflict_do_nothing()
    await session.execute(stmt)
    await session.commit()


async def remove_favorite(session: AsyncSession, *, user_id: int, book_id: int) -> None:
    await session.execute(delete(Favorite).where(Favorite.user_id == user_id, Favorite.book_id == book_id))
    await session.commit()
