"""Database rules (PA3xx) beyond the marker runner: the Kitsu-like mini project and its
fixed twin (seed 003 sections 2, 6, 8, 9, 12), and the numbers PA301 hands the report."""

from __future__ import annotations

from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.findings import Severity
from prodaudit.rules.base import all_rules

FIXTURES = Path(__file__).parent / "fixtures" / "database"
DATABASE_RULES = tuple(r.meta.id for r in all_rules() if r.meta.family == "database")


def _audit(directory: Path):
    return run_audit(directory, AuditOptions(use_cache=False, select=DATABASE_RULES)).findings


def test_kitsu_like_reports_each_seed_finding_once() -> None:
    findings = _audit(FIXTURES / "n-plus-one--kitsu-like")
    by_rule: dict[str, list] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    assert {rule: len(found) for rule, found in by_rule.items()} == {
        "PA301": 1, "PA302": 1, "PA304": 1, "PA306": 1, "PA307": 1}
    assert all(f.evidence for f in findings)
    # the pool is within the limit: a capacity fact, queueing until pool_timeout
    assert by_rule["PA301"][0].severity is Severity.INFO
    assert "TimeoutError" in by_rule["PA301"][0].message
    # async session: the lazy load is a crash, not slowness
    assert "MissingGreenlet" in by_rule["PA302"][0].message


def test_kitsu_like_fixed_twin_reports_nothing_above_info() -> None:
    findings = _audit(FIXTURES / "n-plus-one--kitsu-like-fixed")
    assert [(f.rule_id, f.location.path, f.location.line) for f in findings
            if f.severity is not Severity.INFO] == []
    assert [f.rule_id for f in findings] == ["PA301"]


def test_pool_capacity_details_feed_the_capacity_matrix() -> None:
    (finding,) = [f for f in _audit(FIXTURES / "pool-capacity") if f.rule_id == "PA301"]
    details = dict(finding.details)
    assert details["workers"] == 4 and details["pool_size"] == 5 and details["max_overflow"] == 10
    assert details["per_worker"] == 15 and details["total"] == 60
    assert details["max_connections"] == 50 and details["pool_timeout"] == 30
    assert finding.severity is Severity.HIGH
    roles = " ".join(e.role for e in finding.evidence)
    for number in ("pool_size = 5", "max_overflow = 10", "pool_timeout = 30", "workers = 4",
                   "max_connections = 50"):
        assert number in roles


def test_pool_capacity_is_critical_when_the_steady_pools_alone_exceed_the_limit(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "main.py").write_text(
        "from fastapi import FastAPI\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n\n"
        "engine = create_async_engine('postgresql+asyncpg://a@db/a', pool_size=30, max_overflow=0)\n"
        "app = FastAPI()\n")
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.12\nCMD ["uvicorn", "app.main:app", "--workers", "4"]\n')
    (finding,) = [f for f in _audit(tmp_path) if f.rule_id == "PA301"]
    assert finding.severity is Severity.CRITICAL
    assert dict(finding.details)["total"] == 120
