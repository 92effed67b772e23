from __future__ import annotations

from prodaudit.findings import Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register


@register
class BareExcept(BridgedRule):
    """
    ## What it does
    Finds `except:` clauses with no exception type (bridged from ruff E722).

    ## Why is this bad?
    A bare `except` also catches `SystemExit`, `KeyboardInterrupt` and, in async code,
    `asyncio.CancelledError`: the process cannot be stopped cleanly, a cancelled task keeps
    running, and the real error disappears.

    ## Example
    ```python
    def send(bot, chat_id, text):
        try:
            bot.send_message(chat_id, text)
        except:
            pass
    ```

    ## Use instead
    ```python
    import logging

    def send(bot, chat_id, text):
        try:
            bot.send_message(chat_id, text)
        except ConnectionError:
            logging.getLogger(__name__).warning("send failed", exc_info=True)
    ```

    ## Known limitations
    Flags every bare `except`, including ones that re-raise (which are harmless but still
    better written as `except BaseException:`).
    """

    meta = RuleMeta(
        id="PA501", slug="bare-except", family="reliability", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, summary="bare `except:` (also catches SystemExit and CancelledError)",
        effort_minutes=5, ruff_codes=("E722",), file_kinds=("source",),
        fix="Catch the specific exceptions you expect; let CancelledError and SystemExit through.",
    )
