"""Scores, verdict, fix plan and capacity: the formulas of docs/scoring.md on small inputs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.findings import AuditResult, Confidence, Dimension, Finding, Location, Severity
from prodaudit.rules.base import RuleMeta
from prodaudit.scoring import (
    NOT_READY,
    READY,
    READY_WITH_CONDITIONS,
    blockers,
    build_capacity,
    build_plan,
    decide_verdict,
    rating_of,
    round_score,
    score_dimensions,
)


def meta(rule_id: str, dimension: Dimension, severity: Severity, effort: int = 10) -> RuleMeta:
    return RuleMeta(id=rule_id, slug=f"rule-{rule_id.lower()}", family="test", dimension=dimension,
                    severity=severity, summary=f"summary of {rule_id}", effort_minutes=effort)


METAS = {
    "PA101": meta("PA101", Dimension.SCALABILITY, Severity.CRITICAL, 120),
    "PA103": meta("PA103", Dimension.SECURITY, Severity.CRITICAL, 90),
    "PA104": meta("PA104", Dimension.RELIABILITY, Severity.CRITICAL, 240),
    "PA405": meta("PA405", Dimension.SECURITY, Severity.HIGH, 20),
    "PA501": meta("PA501", Dimension.RELIABILITY, Severity.MEDIUM, 5),
    "PA701": meta("PA701", Dimension.MAINTAINABILITY, Severity.LOW, 2),
    "PA999": meta("PA999", Dimension.OBSERVABILITY, Severity.INFO, 2),
}


def finding(rule_id: str, severity: Severity | None = None, confidence: Confidence = Confidence.HIGH,
            path: str = "app/x.py", line: int = 1) -> Finding:
    return Finding(rule_id, f"message {rule_id}", Location(path, line),
                   severity or METAS[rule_id].severity, confidence)


def test_score_is_min_of_debt_score_and_severity_cap() -> None:
    findings = [finding("PA405"), finding("PA701", line=2), finding("PA701", line=3)]
    card = score_dimensions(findings, METAS, 100, METAS)
    by = {d.dimension: d for d in card.dimensions}
    security = by[Dimension.SECURITY]
    # debt = 20 min x weight 4 = 80; development = 100 lines x 30 min = 3000; ratio 2.67 %
    assert security.debt_minutes == 80
    assert security.debt_ratio == pytest.approx(80 / 3000)
    assert security.debt_score == round_score(10 * (1 - (80 / 3000) / 0.5))
    assert security.cap == 5.0 and security.score == 5.0 and security.rating == "D"
    maintainability = by[Dimension.MAINTAINABILITY]
    assert maintainability.debt_minutes == 4 and maintainability.score == 9.0
    assert maintainability.rating == "A"
    # A dimension with rules run and no finding scores 10; one without rules is n/a.
    assert by[Dimension.RELIABILITY].score == 10.0
    assert by[Dimension.ARCHITECTURE].assessed is False and by[Dimension.ARCHITECTURE].score is None
    assert by[Dimension.ARCHITECTURE].rating == ""


def test_debt_alone_lowers_the_score_and_low_confidence_counts_half() -> None:
    # 40 medium findings of 5 minutes in 100 lines: 40 x 5 x 2 = 400 -> ratio 13.3 %
    many = [finding("PA501", line=n) for n in range(1, 41)]
    card = score_dimensions(many, ["PA501"], 100, METAS)
    reliability = next(d for d in card.dimensions if d.dimension == Dimension.RELIABILITY)
    assert reliability.debt_minutes == 400
    assert reliability.score == round_score(10 * (1 - (400 / 3000) / 0.5))
    assert reliability.rating == "C"
    halved = [replace(f, confidence=Confidence.LOW) for f in many]
    card = score_dimensions(halved, ["PA501"], 100, METAS)
    reliability = next(d for d in card.dimensions if d.dimension == Dimension.RELIABILITY)
    assert reliability.debt_minutes == 200
    assert reliability.cap is None  # low confidence never caps


def test_ratings_and_rounding() -> None:
    assert [rating_of(s) for s in (10, 9.0, 8.9, 8.0, 6.0, 5.9, 2.1, 2.0, 0)] == \
        ["A", "A", "B", "B", "C", "D", "D", "E", "E"]
    assert round_score(7.25) == 7.3 and round_score(7.24) == 7.2


def test_verdict_rule() -> None:
    assert decide_verdict([]).value == READY
    assert decide_verdict([finding("PA501"), finding("PA701")]).value == READY
    assert decide_verdict([finding("PA405")]).value == READY_WITH_CONDITIONS
    assert decide_verdict([finding("PA405", confidence=Confidence.LOW)]).value == READY
    low_critical = finding("PA101", confidence=Confidence.LOW)
    assert decide_verdict([low_critical]).value == READY_WITH_CONDITIONS
    verdict = decide_verdict([finding("PA405"), finding("PA101", confidence=Confidence.MEDIUM)])
    assert verdict.value == NOT_READY and [f.rule_id for f in verdict.deciding] == ["PA101"]


def test_blockers_take_one_per_rule_first() -> None:
    findings = [finding("PA101", line=n) for n in range(1, 8)] + [finding("PA103"), finding("PA104")]
    chosen = blockers(decide_verdict(findings), findings)
    assert [f.rule_id for f in chosen[:3]] == ["PA101", "PA103", "PA104"]
    assert len(chosen) == 5
    # Below five deciding rules, confident high findings fill up; medium ones never do.
    mixed = [finding("PA101"), finding("PA405"), finding("PA501")]
    assert [f.rule_id for f in blockers(decide_verdict(mixed), mixed)] == ["PA101", "PA405"]


def test_plan_groups_shared_fixes_and_phases_by_worst_finding() -> None:
    findings = [finding("PA101"), finding("PA101", line=9), finding("PA103"), finding("PA405"),
                finding("PA501"), finding("PA701"), finding("PA999")]
    plan = build_plan(findings, METAS)
    keys = [(g.phase, g.key, g.rule_ids) for g in plan.groups]
    assert keys[0][:2] == ("P0", "shared-state") and keys[0][2] == ("PA101", "PA103")
    shared = plan.groups[0]
    assert [i.count for i in shared.items] == [2, 1]
    assert shared.total_minutes == 2 * 120 + 90
    assert ("P0", "bound-sql", ("PA405",)) in keys
    assert ("P1", "error-handling", ("PA501",)) in keys
    assert ("P2", "modern-typing", ("PA701",)) in keys
    assert ("P2", "PA999", ("PA999",)) in keys  # a rule with no group is its own group
    assert plan.phase_minutes("P0") == 330 + 20
    # A group goes where its worst finding is: a medium PA101 next to a critical PA103 stays P0.
    mixed = build_plan([finding("PA101", severity=Severity.MEDIUM), finding("PA103")], METAS)
    assert [(g.phase, g.key) for g in mixed.groups] == [("P0", "shared-state")]


# -- capacity ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FakeResolved:
    value: object
    known: bool = True
    source: str = "default of Settings.db_pool_size at app/config.py:3"


@dataclass(frozen=True)
class FakeEngine:
    pool_size: FakeResolved
    max_overflow: FakeResolved
    pool_timeout: FakeResolved
    location: Location = field(default_factory=lambda: Location("app/db.py", 5))
    target: str = "engine"
    module_kind: str = "source"
    dialect: str | None = "postgresql"
    uses_null_pool: bool = False


class FakeSettings:
    def __init__(self, *engines: FakeEngine) -> None:
        self._engines = list(engines)

    def engines(self) -> list[FakeEngine]:
        return self._engines


@pytest.fixture
def compose_project(tmp_path: Path) -> Path:
    root = tmp_path / "svc"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    (root / "Dockerfile").write_text("FROM python:3.12-slim\nCMD [\"uvicorn\", \"app.main:app\", "
                                     "\"--workers\", \"3\"]\n")
    (root / "docker-compose.yml").write_text(
        "services:\n  api:\n    build: .\n  db:\n    image: postgres:16\n"
        "    command: [\"postgres\", \"-c\", \"max_connections=40\"]\n")
    return root


def audit(root: Path) -> AuditResult:
    return run_audit(root, AuditOptions(use_cache=False, run_rules=False))


def test_capacity_from_settings_engines(compose_project: Path) -> None:
    result = audit(compose_project)
    result.project.__dict__["settings"] = FakeSettings(
        FakeEngine(FakeResolved(10), FakeResolved(5), FakeResolved(15)))
    cap = build_capacity(result)
    assert cap.workers == 3 and cap.per_worker == 15 and cap.pool_timeout == 15
    assert cap.database.kind == "postgres" and cap.database.max_connections == 40
    assert cap.database.written and cap.database.usable == 37
    rows = {r.workers: r for r in cap.rows}
    assert sorted(rows) == [1, 2, 3, 4, 8] and rows[3].deployed
    assert rows[2].sessions == 30 and rows[2].exceeds is False
    assert rows[3].sessions == 45 and rows[3].exceeds is True
    assert cap.max_workers_within_limit == 2


def test_capacity_unknown_pool_value_stays_unknown(compose_project: Path) -> None:
    result = audit(compose_project)
    result.project.__dict__["settings"] = FakeSettings(
        FakeEngine(FakeResolved(None, known=False, source="env DB_POOL_SIZE, no default"),
                   FakeResolved(10), FakeResolved(30)))
    cap = build_capacity(result)
    assert cap.pools[0].pool_size is None and cap.per_worker is None
    assert all(r.sessions is None and r.exceeds is None for r in cap.rows)


def test_capacity_from_pa301_details_and_default_limit(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "main.py").write_text("x = 1\n")
    (root / "requirements.txt").write_text("asyncpg==0.29.0\n")
    result = audit(root)
    pa301 = Finding("PA301", "pool", Location("db.py", 3), Severity.HIGH, Confidence.HIGH,
                    details=(("max_overflow", 10), ("pool_size", 5)))
    cap = build_capacity(replace(result, findings=(pa301,), project=result.project))
    assert cap.per_worker == 15 and cap.pools[0].origin == "PA301"
    assert cap.workers is None and not any(r.deployed for r in cap.rows)
    assert cap.database.kind == "postgres" and not cap.database.written
    assert cap.database.max_connections == 100 and cap.database.usable == 97
    assert [r.exceeds for r in cap.rows] == [False, False, False, True]


def test_capacity_without_facts_is_unknown(tmp_path: Path) -> None:
    root = tmp_path / "bare"
    root.mkdir()
    (root / "main.py").write_text("x = 1\n")
    cap = build_capacity(audit(root))
    assert cap.pools == () and cap.per_worker is None and cap.database.kind == ""
    assert cap.database.max_connections is None and cap.max_workers_within_limit is None
