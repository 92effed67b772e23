"""The records every stage after the rules passes around: findings and their parts.

All of them are frozen dataclasses so that they can cross process boundaries (the module
summaries are computed in a process pool and cached with pickle) and cannot be mutated
by a later stage behind an earlier one's back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is worse; used for sorting and for --fail-on thresholds."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Dimension(StrEnum):
    SECURITY = "security"
    SCALABILITY = "scalability"
    RELIABILITY = "reliability"
    PERFORMANCE = "performance"
    ARCHITECTURE = "architecture"
    MAINTAINABILITY = "maintainability"
    OBSERVABILITY = "observability"
    READINESS = "readiness"


@dataclass(frozen=True, order=True)
class Location:
    """A place in the audited tree. `path` is POSIX and relative to the audit root.

    line 0 means "the whole file" (or the whole project when path is "").
    Columns are 1-based like SARIF's; 0 means unknown.
    """

    path: str
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class Evidence:
    """One link of a finding's chain: where, what role it plays, and the code there."""

    location: Location
    role: str
    excerpt: str = ""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    message: str
    location: Location
    severity: Severity
    confidence: Confidence
    evidence: tuple[Evidence, ...] = ()
    fix: str = ""
    # Qualified symbol the finding is about ("app.routers.auth:login"); part of the
    # fingerprint, so it must not contain line numbers.
    anchor: str = ""
    excerpt: str = ""
    fingerprint: str = ""
    # Rule-specific numbers the report renders (capacity math, counts); sorted pairs.
    details: tuple[tuple[str, str | int | float | bool], ...] = ()
    # The external code this finding was bridged from ("ruff:E722"), empty for our own.
    source: str = ""

    @property
    def sort_key(self) -> tuple:
        return (self.location.path, self.location.line, self.location.column, self.rule_id,
                self.message)

    def with_fingerprint(self, fingerprint: str) -> Finding:
        return replace(self, fingerprint=fingerprint)


@dataclass(frozen=True)
class Suppressed:
    """A finding the user silenced, kept so reports can list it (never dropped silently)."""

    finding: Finding
    how: str  # "inline", "config", "baseline", "noqa"
    reason: str
    location: Location  # where the suppression is written


@dataclass(frozen=True)
class AuditNote:
    """Something the methodology section must say: a skipped file, a degraded stage."""

    kind: str  # "skipped", "warning", "config"
    message: str
    path: str = ""


@dataclass(frozen=True)
class AuditResult:
    root: str
    findings: tuple[Finding, ...]
    suppressed: tuple[Suppressed, ...] = ()
    notes: tuple[AuditNote, ...] = ()
    files_analyzed: int = 0
    rules_run: tuple[str, ...] = ()
    # Python files parsed in this run (the others came from the cache); not in reports.
    summarized: int = field(default=0, compare=False)
    timings: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    # Seconds per project rule, slowest first (printed by --profile).
    rule_timings: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    # Set by the engine when the model was built; kept untyped here to avoid a cycle.
    project: object = field(default=None, compare=False, repr=False)
    # The engine's cache key of the audit's inputs: a report rendered from this result can
    # be cached under it (the CLI keeps the JSON text of an unchanged tree).
    cache_key: str = field(default="", compare=False, repr=False)


_WS = re.compile(r"\s+")


def fingerprint_of(finding: Finding) -> str:
    """Stable identity across edits: rule + path + anchor + normalized snippet, no lines."""
    snippet = _WS.sub(" ", finding.excerpt).strip()
    raw = f"{finding.rule_id}\x1f{finding.location.path}\x1f{finding.anchor}\x1f{snippet}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]


def assign_fingerprints(findings: list[Finding]) -> list[Finding]:
    """Fingerprint every finding; identical ones get an occurrence suffix in sorted order."""
    seen: dict[str, int] = {}
    out = []
    for finding in sorted(findings, key=lambda f: f.sort_key):
        base = fingerprint_of(finding)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.append(finding.with_fingerprint(base if count == 0 else f"{base}-{count}"))
    return out
