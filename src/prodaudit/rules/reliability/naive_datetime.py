from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Location, Severity
from prodaudit.rules.base import BridgedRule, ProjectRule, RuleMeta, register

# Passed uncalled as a default factory, these produce naive values on every insert.
NAIVE_FACTORIES = {"datetime.datetime.utcnow", "datetime.datetime.now", "datetime.datetime.today"}
FACTORY_KEYWORDS = ("default", "onupdate", "default_factory", "server_onupdate")


@register
class NaiveDatetime(BridgedRule, ProjectRule):
    """
    ## What it does
    Finds naive datetimes: `datetime.utcnow()`, `datetime.now()` without `tz`,
    `datetime.fromtimestamp()` without `tz` and similar (ruff DTZ001-DTZ012), and the same
    functions passed uncalled as a default factory (`Column(default=datetime.utcnow)`,
    `Field(default_factory=datetime.now)`), which ruff does not see.

    ## Why is this bad?
    A naive datetime has no time zone. Compared with an aware one it raises `TypeError`;
    stored next to aware ones it silently shifts by the server's offset. `utcnow()` is
    deprecated since Python 3.12 because it returns a naive value that looks like UTC.

    ## Example
    ```python
    from datetime import datetime

    def stamp():
        return datetime.utcnow()
    ```

    ## Use instead
    ```python
    from datetime import UTC, datetime

    def stamp():
        return datetime.now(UTC)
    ```

    ## Known limitations
    Does not follow values across functions: a naive datetime passed to a
    `DateTime(timezone=True)` column elsewhere is PA309's business.
    """

    meta = RuleMeta(
        id="PA504", slug="naive-datetime", family="reliability", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, summary="datetime.utcnow() / datetime.now() without a time zone",
        effort_minutes=5, ruff_codes=("DTZ001", "DTZ002", "DTZ003", "DTZ004", "DTZ005", "DTZ006", "DTZ007",
                    "DTZ011", "DTZ012"),
        file_kinds=("source",),
        fix="Use aware datetimes: datetime.now(UTC), fromtimestamp(ts, tz=UTC).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        for module in project.summaries("source"):
            for call in module.calls:
                for key, value in call.keywords:
                    if key in FACTORY_KEYWORDS and value.kind in ("name", "attr") and value.name in NAIVE_FACTORIES:
                        yield self.finding(
                            f"`{key}={value.text}` stores a naive datetime on every write",
                            Location(module.path, value.line or call.line), anchor=f"{call.scope}:{key}",
                            fix="Pass an aware factory: default=lambda: datetime.now(UTC).")
