"""ORM models. Everything is imported here so Alembic sees the full metadata."""

from app.models.book import Author, Book, Favorite, Review
from app.models.order import Order, OrderItem, OrderStatus
from app.models.user import User

__all__ = ["Author", "Book", "Favorite", "Order", "OrderItem", "OrderStatus", "Review", "User"]
