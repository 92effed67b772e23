"""Failures of prodaudit itself, turned into findings so one bad rule or file never stops
an audit. PRODAUDIT_STRICT=1 makes them raise instead (the test suite sets it)."""

from __future__ import annotations

import os
import traceback

from prodaudit.findings import Confidence, Finding, Location, Severity

INTERNAL_ERROR_RULE = "PA002"


class UsageError(Exception):
    """Bad command line, path or configuration: one line to stderr, exit code 2."""


def strict_mode() -> bool:
    return os.environ.get("PRODAUDIT_STRICT", "") not in ("", "0", "false", "no")


def internal_error_finding(rule_id: str, path: str, exc: BaseException) -> Finding:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" at {os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""
    return Finding(
        rule_id=INTERNAL_ERROR_RULE,
        message=f"Rule {rule_id} crashed on this file ({exc.__class__.__name__}{where}); "
                f"its findings here are missing",
        location=Location(path),
        severity=Severity.INFO,
        confidence=Confidence.HIGH,
        anchor=f"{rule_id}:{exc.__class__.__name__}",
        fix="Report this to the prodaudit maintainers with the file if you can share it.",
    )
