from __future__ import annotations

from prodaudit.findings import Confidence, Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class SqlInjection(BridgedRule):
    """
    ## What it does
    Finds SQL built from strings with f-strings, `.format()`, `%` or `+` (ruff S608).

    ## Why is this bad?
    Any value that reaches the string from a user can change the query: read other
    users' rows, drop tables, bypass login. Quoting by hand is never complete.

    ## Example
    ```python
    def search(cursor, name):
        cursor.execute(f"SELECT * FROM users WHERE name = '{name}'")
    ```

    ## Use instead
    ```python
    def search(cursor, name):
        cursor.execute("SELECT * FROM users WHERE name = %s", (name,))
    ```

    ## Known limitations
    Recognises SQL by its keywords in the string; identifiers interpolated from a fixed
    allow-list are reported too (mark them with a suppression and the reason).
    """

    meta = RuleMeta(
        id="PA405", slug="sql-injection", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="SQL built with f-string/format/concatenation",
        effort_minutes=20, cwe=(89,), owasp=("A03:2021",), ruff_codes=("S608",),
        file_kinds=("source",),
        fix="Use bound parameters: text('... WHERE id = :id') with {'id': value}.",
    )
