from __future__ import annotations

import re

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register

# Places where printing is the interface, not a logging mistake.
CLI_PATH = re.compile(r"(^|/)(scripts?|bin|tools|cli|commands|management)(/|$)|(^|/)(__main__|manage|cli|setup|conftest)\.py$")


@register
class PrintInProduction(BridgedRule):
    """
    ## What it does
    Finds `print()` in application code (ruff T201), outside scripts (modules with an
    `if __name__ == "__main__":` block), CLI modules and `__main__.py`.

    ## Why is this bad?
    print output has no level, no timestamp, no logger name and no structure; it bypasses
    log configuration and cannot be filtered or shipped reliably.

    ## Example
    ```python
    def charge(order):
        print("charging", order.id)
    ```

    ## Use instead
    ```python
    import logging

    log = logging.getLogger(__name__)

    def charge(order):
        log.info("charging %s", order.id)
    ```

    ## Known limitations
    CLI code is recognised by path (scripts/, bin/, cli.py, __main__.py, manage.py) or by a
    main guard; a CLI elsewhere is reported. A module that is both a library and a script
    is treated as a script.
    """

    meta = RuleMeta(
        id="PA706", slug="print-in-production", family="maintainability",
        dimension=Dimension.OBSERVABILITY, severity=Severity.LOW,
        summary="print() in application code", effort_minutes=2,
        ruff_codes=("T201",), file_kinds=("source",),
        fix="Use a module logger: log = logging.getLogger(__name__).",
    )

    @classmethod
    def accepts(cls, code: str, message: str, path: str, line_text: str, module) -> bool:
        # A module with `if __name__ == "__main__":` is (also) a script: printing is its UI.
        is_script = module is not None and module.has_main_guard
        return not CLI_PATH.search(path) and not is_script
