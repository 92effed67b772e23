from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class UndefinedName(BridgedRule):
    """
    ## What it does
    Finds names that are used but never bound: a missing import or a typo (ruff F821).

    ## Why is this bad?
    The line raises `NameError` when it runs. Such lines often sit in an `except` branch
    or a cleanup path that tests never reach, so the failure appears in production, on
    top of the error being handled (seed 002: a missing `log` import in a cleanup path).

    ## Example
    ```python
    def cleanup(container):
        try:
            container.stop()
        except RuntimeError:
            log.warning("stop failed")
    ```

    ## Use instead
    ```python
    import logging

    log = logging.getLogger(__name__)

    def cleanup(container):
        try:
            container.stop()
        except RuntimeError:
            log.warning("stop failed")
    ```

    ## Known limitations
    Names created dynamically (`globals()[...] = `, star imports from modules ruff cannot
    see) may be reported; ruff skips files with unresolved star imports for most names.
    """

    meta = RuleMeta(
        id="PA507", slug="undefined-name", family="reliability", dimension=Dimension.RELIABILITY,
        severity=Severity.HIGH, summary="name used but never bound (missing import): NameError at run time",
        effort_minutes=5, ruff_codes=("F821",), file_kinds=("source", "migration"),
        fix="Import or define the name.",
    )
