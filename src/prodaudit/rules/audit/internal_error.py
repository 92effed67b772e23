from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class InternalError(ProjectRule):
    """
    ## What it does
    Not a check of your code: marks where a prodaudit rule crashed on a file. The audit
    goes on without that rule's findings for that file, and this finding says so, so a
    report never looks cleaner than it is.

    ## Why is this bad?
    Findings may be missing for the named rule and file. Set `PRODAUDIT_STRICT=1` to make
    prodaudit raise instead, with a traceback for a bug report.

    ## Example
    ```python
    # (produced by the engine, never by a pattern in your code)
    ```

    ## Use instead
    ```python
    x = 1
    ```

    ## Known limitations
    Not scored and never raises the verdict; it only documents a gap in the analysis.
    """

    meta = RuleMeta(
        id="PA002", slug="internal-error", family="audit", dimension=Dimension.READINESS,
        severity=Severity.INFO, summary="A prodaudit rule crashed on a file (analysis gap)",
        effort_minutes=0, scored=False, file_kinds=("source", "test", "migration"),
    )

    def check_project(self, project) -> Iterator[Finding]:
        return iter(())  # findings of this rule are created by the engine
