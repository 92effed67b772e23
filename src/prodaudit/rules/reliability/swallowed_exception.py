from __future__ import annotations

from typing import ClassVar

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class SwallowedException(BridgedRule):
    """
    ## What it does
    Finds exception handlers that drop the error: `try/except/pass` and `try/except/continue`
    (ruff S110, S112), and, as info-level review items, `except Exception` handlers that
    neither re-raise nor log a traceback (ruff BLE001).

    ## Why is this bad?
    The failure is invisible: no log line, no metric, no error response. In production you
    learn about it from users, and the original traceback is gone.

    ## Example
    ```python
    def load(path):
        try:
            return open(path).read()
        except Exception:
            pass
    ```

    ## Use instead
    ```python
    import logging

    def load(path):
        try:
            return open(path).read()
        except OSError:
            logging.getLogger(__name__).exception("cannot read %s", path)
            raise
    ```

    ## Known limitations
    BLE001 counts a handler that logs the error without `exc_info` as swallowing it;
    those are reported as info ("review"), never above.
    """

    meta = RuleMeta(
        id="PA502", slug="swallowed-exception", family="reliability",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM,
        summary="broad except whose body drops the error (pass/continue, no log, no re-raise)",
        effort_minutes=10, ruff_codes=("S110", "S112", "BLE001"), file_kinds=("source",),
        fix="Catch specific exceptions, log with the traceback (logger.exception) or re-raise.",
    )
    # BLE001 also fires on handlers that log without a traceback: a review item, not a
    # proven swallow (seed 002 counted 79 such handlers as one P1 item).
    severity_by_code: ClassVar[dict[str, Severity]] = {"BLE001": Severity.INFO}
