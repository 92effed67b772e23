from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class FstringLogging(BridgedRule):
    """
    ## What it does
    Finds log messages built eagerly with f-strings, `.format()`, `%` or `+` (ruff
    G001-G004).

    ## Why is this bad?
    The message is formatted even when the level is disabled, and every message is a
    different string, so log aggregation cannot group them and structured logging loses
    the fields.

    ## Example
    ```python
    import logging

    log = logging.getLogger(__name__)

    def done(user_id):
        log.info(f"user {user_id} done")
    ```

    ## Use instead
    ```python
    import logging

    log = logging.getLogger(__name__)

    def done(user_id):
        log.info("user %s done", user_id)
    ```

    ## Known limitations
    Only calls ruff recognises as logging calls (the logging module and loggers named
    like loggers).
    """

    meta = RuleMeta(
        id="PA801", slug="fstring-logging", family="observability",
        dimension=Dimension.OBSERVABILITY, severity=Severity.INFO,
        summary="log message built with f-string/format/% instead of logging arguments",
        effort_minutes=2, ruff_codes=("G001", "G002", "G003", "G004"), file_kinds=("source",),
        fix="Pass arguments to the logger: log.info('user %s done', user_id).",
    )
