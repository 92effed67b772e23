from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register

MAX_COMPLEXITY = 15


@register
class ComplexFunction(BridgedRule):
    """
    ## What it does
    Finds functions whose McCabe complexity exceeds 15 (ruff C901 with
    max-complexity = 15).

    ## Why is this bad?
    Every branch is a path to test. Past ~15, functions are rarely fully tested and
    changes in one branch break another.

    ## Example
    ```python
    def route(a, b, c, d, e, f, g, h):
        if a: return 1
        if b: return 2
        if c: return 3
        if d: return 4
        if e: return 5
        if f: return 6
        if g: return 7
        if h: return 8
        for x in a:
            if x: return 9
        for y in b:
            if y: return 10
        while c:
            if d: return 11
            if e: return 12
            if f: return 13
        return 0
    ```

    ## Use instead
    ```python
    HANDLERS = {}

    def route(kind):
        return HANDLERS.get(kind, 0)
    ```

    ## Known limitations
    Complexity counts branches, not how hard the code is to read.
    """

    meta = RuleMeta(
        id="PA708", slug="complex-function", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.LOW,
        summary=f"function with cyclomatic complexity over {MAX_COMPLEXITY}",
        effort_minutes=60, ruff_codes=("C901",), file_kinds=("source",),
        fix="Split into smaller functions; replace branch chains with tables or polymorphism.",
    )
    ruff_settings = (f"lint.mccabe.max-complexity = {MAX_COMPLEXITY}",)
