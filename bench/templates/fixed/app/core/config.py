"""Process-wide settings, from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, PostgresDsn, RedisDsn, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: str = "production"
    debug: bool = False
    database_url: PostgresDsn = "postgresql+asyncpg://app:app@db:5432/app"
    redis_url: RedisDsn = "redis://redis:6379/0"
    secret_key: SecretStr
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = Field(30, ge=1)
    bot_token: SecretStr = SecretStr("")
    partner_api_url: str = "https://partner.example.com/api/v2"
    partner_token: str = ""
    webhook_url: str = "https://hooks.example.com/app"
    http_timeout: float = 10.0
    backup_dir: str = "/var/backups/app"
    cors_origins: list[str] = ["https://app.example.com"]
    db_pool_size: int = 10
    db_max_overflow: int = 20
    sentry_dsn: str | None = None


@lru_cache
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
