from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.dependencies import require_admin
from app.background.jobs import job_runner
from app.cache import book_key, cache_delete
from app.crud import books as crud_books
from app.crud import users as crud_users
from app.database import get_session
from app.models import Book, User
from app.schemas.book import BookCreate, BookOut, BookUpdate
from app.schemas.order import JobOut, SalesReportIn
from app.schemas.user import UserOut
from app.services import catalog
from app.services.orders import build_sales_report

log = logging.getLogger(__name__)

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", response_model=list[UserOut])
async def list_users(
    after_id: int = Query(0, ge=0),
    limit: int = Query(50, ge=1, le=200),
    admin: User = Depends(require_admin),
    session: AsyncSession = Depends(get_session),
) -> list[User]:
    return await crud_users.list_users(session, after_id=after_id, limit=limit)


@router.post("/users/{user_id}/deactivate", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_user(
    user_id: int,
    admin: User = Depends(require_admin),
    session: AsyncSession = Depends(get_session),
) -> None:
    user = await crud_users.get_user(session, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="User not found")
    await crud_users.deactivate_user(session, user)
    log.info("admin %s deactivated user %s", admin.id, user_id)


@router.post("/books", response_model=BookOut, status_code=status.HTTP_201_CREATED)
async def create_book(
    body: BookCreate,
    admin: User = Depends(require_admin),
    session: AsyncSession = Depends(get_session),
) -> Book:
    return await crud_books.create_book(session, body)


@router.patch("/books/{book_id}", response_model=BookOut)
async def update_book(
    book_id: int,
    body: BookUpdate,
    admin: User = Depends(require_admin),
    session: AsyncSession = Depends(get_session),
) -> Book:
    book = await crud_books.get_book(session, book_id)
    if book is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Book not found")
    book = await crud_books.update_book(session, book, body)
    await cache_delete(book_key(book_id))
    return book


@router.post("/books/{book_id}/refresh-cover", response_model=BookOut)
async def refresh_cover(
    book_id: int,
    admin: User = Depends(require_admin),
    session: AsyncSession = Depends(get_session),
) -> Book:
    book = await crud_books.get_book(session, book_id)
    if book is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Book not found")
    await catalog.refresh_cover(session, book)
    await cache_delete(book_key(book_id))
    return book


@router.post("/reports/sales", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
async def start_sales_report(body: SalesReportIn, admin: User = Depends(require_admin)) -> JobOut:
    job_id = await job_runner.enqueue("sales_report", build_sales_report, since=body.since)
    return JobOut(job_id=job_id, status="queued")


@router.get("/jobs/{job_id}", response_model=JobOut)
async def job_status(job_id: str, admin: User = Depends(require_admin)) -> JobOut:
    job_state = job_runner.status(job_id)
    if job_state is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Unknown job")
    return JobOut(job_id=job_id, status=job_state, result=job_runner.results.get(job_id))
