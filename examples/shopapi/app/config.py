"""Application settings, read from the environment (and `.env` in development)."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_name: str = "shopapi"
    environment: str = os.getenv("APP_ENV", "development")
    log_level: str = os.getenv("LOG_LEVEL", "INFO")

    # Postgres
    database_url: str = os.getenv("DATABASE_URL", "postgresql+asyncpg://shop@localhost:5432/shop")
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_echo: bool = False

    # Redis
    redis_url: str = os.getenv("REDIS_URL", "redis://localhost:6379/0")
    cache_ttl_seconds: int = 300

    # Auth
    secret_key: str = "changeme"
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = 60 * 24

    # Payments
    payment_webhook_secret: str = Field(default="", description="Shared secret issued by the payment provider")

    # Upstream services
    covers_api_url: str = "https://covers.openlibrary.example/api"
    recommender_url: str = os.getenv("RECOMMENDER_URL", "http://recommender:8080")
    warehouse_url: str = os.getenv("WAREHOUSE_URL", "http://warehouse:8081")

    # Background work
    order_expiry_minutes: int = 30
    cleanup_interval_seconds: int = 60


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
