from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class MissingTimeout(BridgedRule):
    """
    ## What it does
    Finds outbound HTTP requests made with `requests` and no `timeout` (ruff S113).

    ## Why is this bad?
    `requests` waits forever by default. A hung upstream holds the worker (or thread)
    indefinitely; enough of them and the service stops answering.

    ## Example
    ```python
    import requests

    def fetch(url):
        return requests.get(url)
    ```

    ## Use instead
    ```python
    import requests

    def fetch(url):
        return requests.get(url, timeout=10)
    ```

    ## Known limitations
    Only `requests`; `httpx` has a 5 s default and aiohttp a 300 s total default, which
    later versions of this rule will report when set to None or left at aiohttp's default.
    """

    meta = RuleMeta(
        id="PA205", slug="missing-timeout", family="asyncio", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, summary="outbound HTTP request without a timeout",
        effort_minutes=5, ruff_codes=("S113",), file_kinds=("source",),
        fix="Pass an explicit timeout (e.g. timeout=10) taken from settings.",
    )
