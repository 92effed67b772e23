"""Seed 003 (Kitsu) sections 3-5 and 7 as a mini project, and its fixed twin.

test_rules.py checks each fixture against its own markers for the rules they name; this
test adds what that runner cannot: the fixed twin is clean for every architecture rule,
and the seed project gives each finding exactly once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit

FIXTURES = Path(__file__).parent / "fixtures" / "architecture"
ARCHITECTURE = ("PA601", "PA602", "PA603", "PA604", "PA605", "PA606", "PA607")


def _findings(name: str):
    result = run_audit(FIXTURES / name, AuditOptions(use_cache=False, select=ARCHITECTURE))
    return [f for f in result.findings if f.rule_id in ARCHITECTURE]


def test_seed003_each_finding_once() -> None:
    counts = Counter(f.rule_id for f in _findings("duplicate-route--seed003"))
    # favorites and watch mounted twice (3.1, 3.2); /health vs /api/health (3.3); anime
    # and releases routers calling crud while favorites/watch use use cases (4, 7); two
    # dead helpers (5).
    assert counts == {"PA601": 2, "PA602": 1, "PA603": 2, "PA604": 2}


def test_seed003_fixed_twin_is_clean() -> None:
    assert _findings("layer-violation--seed003-fixed") == []
