from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class DeprecatedTyping(BridgedRule):
    """
    ## What it does
    Finds `typing.List`, `Dict`, `Optional`, `Union` and friends where the project's
    oldest supported Python (its `requires-python`) has `list[...]` and `X | None` (ruff
    UP006, UP007, UP035, UP045, run with the project's target version).

    ## Why is this bad?
    Cosmetic, but it signals code that was not updated: the aliases are deprecated and
    two spellings of the same type make reviews noisier.

    ## Example
    ```python
    from typing import List

    def names() -> List[str]:
        return []
    ```

    ## Use instead
    ```python
    def names() -> list[str]:
        return []
    ```

    ## Known limitations
    Without `requires-python` (or `python-version` in the config) ruff assumes 3.8, where
    these spellings are not deprecated, and nothing is reported.
    """

    meta = RuleMeta(
        id="PA701", slug="deprecated-typing", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.LOW,
        summary="typing.List/Dict/Optional/Union where builtins and X | None exist",
        effort_minutes=2, ruff_codes=("UP006", "UP007", "UP035", "UP045"),
        file_kinds=("source",), fix="Use list[...], dict[...], X | None (ruff --fix does it).",
    )
