from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class NaiveDatetime(BridgedRule):
    """
    ## What it does
    Finds naive datetimes: `datetime.utcnow()`, `datetime.now()` without `tz`,
    `datetime.fromtimestamp()` without `tz` and similar (ruff DTZ001-DTZ012).

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
