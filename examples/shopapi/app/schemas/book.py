from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field


class AuthorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str


class BookCreate(BaseModel):
    isbn: str = Field(pattern=r"^\d{10}(\d{3})?$")
    title: str = Field(min_length=1, max_length=300)
    description: Optional[str] = Field(default=None, max_length=5000)
    published_year: Optional[int] = Field(default=None, ge=1450, le=2100)
    price_cents: int = Field(ge=0, le=1_000_000)
    stock: int = Field(default=0, ge=0)
    author_id: int


class BookUpdate(BaseModel):
    title: Optional[str] = Field(default=None, min_length=1, max_length=300)
    description: Optional[str] = Field(default=None, max_length=5000)
    price_cents: Optional[int] = Field(default=None, ge=0, le=1_000_000)
    stock: Optional[int] = Field(default=None, ge=0)


class BookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    isbn: str
    title: str
    description: Optional[str] = None
    published_year: Optional[int] = None
    price_cents: int
    stock: int
    cover_url: Optional[str] = None
    author: AuthorOut


class BookListItem(BaseModel):
    id: int
    title: str
    author_name: str
    price_cents: int
    cover_url: Optional[str] = None


class SearchHit(BaseModel):
    id: int
    title: str
    isbn: str


class TopRatedBook(BaseModel):
    id: int
    title: str
    rating: float
    review_count: int


class SimilarBooks(BaseModel):
    book_id: int
    similar_ids: List[int]


class ReviewCreate(BaseModel):
    rating: int = Field(ge=1, le=5)
    body: str = Field(default="", max_length=4000)


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    book_id: int
    user_id: Optional[int]
    rating: int
    body: str
    created_at: datetime


class FavoriteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    book_id: int
    created_at: datetime
