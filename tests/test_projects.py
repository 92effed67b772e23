"""Mini projects that reproduce a seed audit's findings, each next to its fixed twin.

Seed 003 (Kitsu) section 1: an in-memory job queue, a scheduler started in the lifespan
and an in-memory login rate limiter under `uvicorn --workers 4`. Seed 001 (EvolveAI)
critical list: a placeholder JWT secret, /activate_premium and /test-tts without auth,
string-built search SQL, no rate limit on /auth, naive datetimes, an unbounded history
query. The broken project yields each finding once, with its evidence chain; the twin with
the seeds' fixes applied yields none of them.
"""

from __future__ import annotations

from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit

PROJECTS = Path(__file__).parent / "fixtures" / "projects"


def audit(name: str, select: tuple[str, ...]):
    return run_audit(PROJECTS / name, AuditOptions(use_cache=False, select=select))


def test_kitsu_section_1_three_critical_findings_with_chains() -> None:
    result = audit("kitsu-section1", ("PA1",))
    critical = [f for f in result.findings if f.severity.value == "critical"]
    assert sorted((f.rule_id, f.location.path, f.location.line) for f in critical) == [
        ("PA102", "app/parser/autoupdate.py", 17),
        ("PA103", "app/application/auth_rate_limit.py", 20),
        ("PA104", "app/background/runner.py", 24),
    ]
    for finding in critical:
        roles = " | ".join(e.role for e in finding.evidence)
        assert "worker count set here: --workers 4 in Dockerfile CMD" in roles, finding.rule_id
        assert "4 worker processes" in finding.message
    by_rule = {f.rule_id: f for f in critical}
    assert "up to 20 attempts per window instead of 5" in by_rule["PA103"].message
    assert any(e.role.startswith("reached from POST /auth/login") for e in by_rule["PA103"].evidence)
    assert any(e.role.startswith("reached from POST /jobs/sync/{anime_id}") for e in by_rule["PA104"].evidence)
    assert any("lifespan hook registered here" == e.role for e in by_rule["PA102"].evidence)


def test_kitsu_section_1_fixed_twin_is_clean() -> None:
    result = audit("kitsu-section1-fixed", ("PA1",))
    assert [(f.rule_id, str(f.location)) for f in result.findings] == []


EVOLVEAI = {
    ("PA404", "server/config.py", 3),  # JWT_SECRET placeholder default
    ("PA401", "server/main.py", 40),  # POST /activate_premium without auth
    ("PA401", "server/main.py", 46),  # POST /test-tts without auth (paid API)
    ("PA405", "server/database.py", 38),  # string-built search SQL
    ("PA403", "server/main.py", 29),  # no rate limit on /auth
    ("PA504", "server/database.py", 33),  # naive datetime.now()
    ("PA504", "server/main.py", 31),  # naive datetime.utcnow()
    ("PA305", "server/database.py", 44),  # unbounded history query
}
EVOLVEAI_RULES = ("PA401", "PA403", "PA404", "PA405", "PA504", "PA305")


def test_evolveai_critical_list_each_found_once() -> None:
    result = audit("evolveai-critical", EVOLVEAI_RULES)
    found = [(f.rule_id, f.location.path, f.location.line) for f in result.findings]
    assert sorted(found) == sorted(EVOLVEAI)  # exactly once each, nothing else
    premium = next(f for f in result.findings if f.location.line == 40 and f.rule_id == "PA401")
    assert premium.severity.value == "critical" and "/activate_premium" in premium.message


def test_evolveai_fixed_twin_is_clean_and_shows_what_works() -> None:
    result = audit("evolveai-fixed", EVOLVEAI_RULES)
    assert [(f.rule_id, str(f.location)) for f in result.findings] == []
    practices = result.project.security.good_practices()
    assert any("jwt.decode pins its algorithms" in p.description for p in practices)
