"""What the PA2xx fixtures cannot say: severities and consequences of the findings."""

from __future__ import annotations

from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.findings import Severity

FIXTURES = Path(__file__).parent / "fixtures" / "asyncio"


def test_blocking_in_a_lifespan_hook_is_low_and_says_it_delays_the_start() -> None:
    result = run_audit(FIXTURES / "blocking-call-in-async", AuditOptions(use_cache=False, select=("PA201",)))
    by_path = {}
    for finding in result.findings:
        by_path.setdefault(finding.location.path, []).append(finding)
    (hook,) = by_path["app/lifespan.py"]
    assert hook.severity is Severity.LOW
    assert "delays the worker's start or stop" in hook.message
    # A route blocking the loop keeps the rule's severity.
    assert any(f.severity is Severity.HIGH for f in by_path["app/routes.py"])
