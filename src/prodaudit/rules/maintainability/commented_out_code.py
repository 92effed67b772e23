from __future__ import annotations

from prodaudit.findings import Confidence, Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class CommentedOutCode(BridgedRule):
    """
    ## What it does
    Finds comments that contain code (ruff ERA001).

    ## Why is this bad?
    Dead code in comments rots: nobody knows whether it is a fix waiting to be enabled or
    garbage. Version control keeps old code; comments should explain.

    ## Example
    ```python
    def total(items):
        # return sum(item.price for item in items if item.active)
        return sum(item.price for item in items)
    ```

    ## Use instead
    ```python
    def total(items):
        return sum(item.price for item in items)
    ```

    ## Known limitations
    Heuristic: comments that explain code with code-like syntax can be reported.
    """

    meta = RuleMeta(
        id="PA705", slug="commented-out-code", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.INFO,
        confidence=Confidence.MEDIUM, summary="commented-out code",
        effort_minutes=2, ruff_codes=("ERA001",), file_kinds=("source",),
        fix="Delete it; git remembers.",
    )
