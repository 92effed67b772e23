"""Unit tests of the security helpers: name classification, endpoint classification, the
security extractor (SQL builds, credential URLs, role checks) and settings literals."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.model.extractors.security import CredentialUrl, RoleCheck, SqlBuild
from prodaudit.rules.security.endpoints import login_like, public_by_design, sensitive_reasons
from prodaudit.rules.security.names import is_password_name, is_secret_name


@pytest.mark.parametrize("name", ["token", "access_token", "X-Api-Key", "apiKey", "client_secret",
                                  "x_signature", "JWT_SECRET", "private_key", "webhook_secret", "reset_token"])
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["token_type", "max_tokens", "tokens_used", "secret_name", "cache_key",
                                  "key", "monkey", "TOKEN_BUCKET", "token_expires_at", "session_id", "hash"])
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_hashed_secrets_count_only_when_asked() -> None:
    assert not is_secret_name("password_hash")
    assert is_secret_name("password_hash", allow_hashed=True)
    assert is_password_name("confirm_password")


@pytest.mark.parametrize("url, method, expected", [
    ("/auth/login", "POST", "login endpoint"),
    ("/auth/register", "POST", "register endpoint"),
    ("/api/v1/login/access-token", "POST", "token endpoint"),
    ("/password-recovery/{email}", "POST", "password reset endpoint"),
    ("/auth", "POST", "token endpoint"),
    ("/health", "GET", "health/docs probe"),
    ("/", "GET", "health/docs probe"),
    ("/status", "GET", "status probe"),
    ("/auth/oauth/google/callback", "GET", "part of the sign-in flow"),
])
def test_public_by_design(url: str, method: str, expected: str) -> None:
    assert public_by_design(url, method, "") == expected


@pytest.mark.parametrize("url, method", [
    ("/profile/status/{user_id}", "GET"), ("/premium/activate", "POST"), ("/health/test", "POST"),
    ("/me/admin-requests", "GET"),
])
def test_not_public(url: str, method: str) -> None:
    assert public_by_design(url, method, "") == ""


def test_sensitive_reasons() -> None:
    assert sensitive_reasons("/premium/activate", "activate_premium") == ["activation", "premium"]
    assert sensitive_reasons("/users/{id}/profile", "get") == ["another user's data by `{id}`"]
    assert sensitive_reasons("/books/{book_id}", "get_book") == []
    assert login_like("/auth/sign-in", "") == "login"


def _project(tmp_path: Path, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return run_audit(tmp_path, AuditOptions(use_cache=False, select=("PA405",))).project


def test_extractor_facts(tmp_path: Path) -> None:
    project = _project(tmp_path, {"db.py": '''
from sqlalchemy import text

ALLOWED = {"a", "b"}
URL = "postgresql://app:s3cret-pw@db.internal/app"


async def find(session, name, column: str, limit: int, user):
    if column not in ALLOWED:
        raise ValueError(column)
    q = f"SELECT * FROM t WHERE name = '{name}' ORDER BY {column} LIMIT {limit}"
    await session.execute(text(q))
    safe = f"SELECT * FROM t ORDER BY {column} LIMIT {limit}"
    await session.execute(text(safe))
    if not user.is_superuser:
        raise PermissionError
'''})
    module = project.modules["db.py"]
    builds = sorted(module.facts_of(SqlBuild), key=lambda b: b.line)
    assert [(b.safe, b.unsafe_parts, b.via, b.sink) for b in builds] == [
        (False, ("name",), "q", "text()"), (True, (), "safe", "text()")]
    urls = module.facts_of(CredentialUrl)
    assert [(u.masked, u.placeholder) for u in urls] == [("postgresql://app:***@db.internal", False)]
    assert [r.scope for r in module.facts_of(RoleCheck)] == ["find"]


def test_setting_literal_follows_settings_defaults(tmp_path: Path) -> None:
    project = _project(tmp_path, {
        "config.py": '''
import os
from pydantic import Field
from pydantic_settings import BaseSettings

ORIGINS = ["*"]


class Settings(BaseSettings):
    cors_origins: list[str] = ["https://a.example"]
    debug: bool = Field(default=True)
    key: str = os.getenv("KEY", "dev")


def get_settings() -> Settings:
    return Settings()


settings = get_settings()
''',
        "main.py": '''
from config import ORIGINS, settings
use = (settings.cors_origins, settings.debug, settings.key, ORIGINS, settings.missing)
'''})
    security = project.security
    module = project.modules["main.py"]
    call_values = next(a for a in project.modules["main.py"].assignments if a.target == "use").value.items
    assert [security.setting_literal(v, module) for v in call_values] == [
        ["https://a.example"], True, "dev", ["*"], None]


def test_good_practices(tmp_path: Path) -> None:
    project = _project(tmp_path, {"auth.py": '''
import hmac

import jwt
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from passlib.context import CryptContext

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["https://a.example"], allow_credentials=True)
pwd_context = CryptContext(schemes=["argon2"])


def check(signature: str, expected: str) -> bool:
    return hmac.compare_digest(signature, expected)


def decode(token: str, key: str) -> dict:
    return jwt.decode(token, key, algorithms=["HS256"])
'''})
    practices = {p.topic: p for p in project.security.good_practices()}
    assert sorted(practices) == ["constant-time-compare", "cors", "jwt", "password-hashing"]
    assert practices["jwt"].description == "every jwt.decode pins its algorithms (1 call)"
    assert str(practices["cors"].locations[0]) == "auth.py:10"
