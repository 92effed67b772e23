"""The "what works" facts of report/positive_facts.py: claimed only when provable."""

from __future__ import annotations

from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.report.positive_facts import proven_practices

GOOD = '''
import hmac

import jwt
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy import text
from sqlalchemy.orm import selectinload

ORIGINS = ["https://shop.example.net"]
app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=ORIGINS, allow_methods=["GET"])
log = structlog.get_logger()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def claims(token: str) -> dict:
    return jwt.decode(token, "k", algorithms=["HS256"])


def books_query(stmt):
    return stmt.options(selectinload("authors"))


@app.get("/health")
async def health(session) -> dict:
    await session.execute(text("SELECT 1"))
    return {"status": "ok"}
'''

BAD = '''
import jwt
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.settings import settings

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"])


def claims(token: str) -> dict:
    return jwt.decode(token, "k", algorithms=["HS256"])


def unsafe_claims(token: str) -> dict:
    return jwt.decode(token, "k")


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}
'''


def facts(tmp_path: Path, source: str) -> dict[str, tuple]:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text(source)
    result = run_audit(tmp_path, AuditOptions(use_cache=False, select=("PA702",)))
    return {key: (params, locations) for key, params, locations in proven_practices(result.project)}


def test_good_practice_is_proved_with_locations(tmp_path: Path) -> None:
    found = facts(tmp_path, GOOD)
    assert set(found) == {"compare-digest", "jwt-algorithms", "cors", "eager-loading",
                          "structured-logging", "health-probe"}
    assert dict(found["cors"][0]) == {"origins": 1}
    assert found["health-probe"][1][0].path == "app/main.py"
    assert all(locations for _, locations in found.values())


def test_near_misses_prove_nothing(tmp_path: Path) -> None:
    # "*" origins, one jwt.decode without algorithms, a constant health answer.
    assert facts(tmp_path, BAD) == {}
