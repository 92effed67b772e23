from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class CallSignatureMismatch(ProjectRule):
    """
    ## What it does
    Finds calls to project functions, classes and methods whose arguments cannot match
    the definition: a required argument missing, an unknown keyword, too many positional
    arguments, or one argument given twice. The callee must resolve to exactly one plain
    definition (a module function or class bound once, an imported one through
    re-exports, or `self.method()` that no other project class defines).

    ## Why is this bad?
    The call raises `TypeError` every time it runs. Such calls survive in code paths
    tests do not reach, and a broad `except Exception` around them turns the crash into
    a silently skipped feature: seed 002 listed "all files migrated to SessionManager"
    as fixed while four call sites created `SessionManager()` without its required
    argument, so none of those code paths could ever work.

    ## Example
    ```python
    class SessionManager:
        def __init__(self, db_config):
            self.db_config = db_config


    def record_usage(tokens):
        manager = SessionManager()
        return manager, tokens
    ```

    ## Use instead
    ```python
    class SessionManager:
        def __init__(self, db_config):
            self.db_config = db_config


    def record_usage(config, tokens):
        manager = SessionManager(config.db)
        return manager, tokens
    ```

    ## Known limitations
    Silent whenever the signature could be other than written: `*args`/`**kwargs` on
    either side, any decorator other than `@staticmethod`/`@classmethod` on methods,
    dataclasses, pydantic/attrs models, NamedTuple, Enum and every class with a library
    base or a metaclass, repeated or conditional definitions, names rebound locally, and
    methods whose name another project class also defines (an override may differ).
    Calls through instances other than `self` are not checked.
    """

    needs = ("name_bindings",)
    meta = RuleMeta(
        id="PA510", slug="call-signature-mismatch", family="reliability",
        dimension=Dimension.RELIABILITY, severity=Severity.HIGH,
        summary="call to a project function/class with a missing required or unknown argument: TypeError",
        effort_minutes=10,
        fix="Pass the arguments the definition requires (or change the definition and every caller).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        for mismatch in project.signature_mismatches:
            call, callee = mismatch.call, mismatch.callee
            what = {"class": "class", "method": "method", "function": "function"}[callee.kind]
            scope = call.scope or "<module>"
            yield self.finding(
                f"`{callee.display}(...)` in `{scope}`: {mismatch.problem} "
                f"(TypeError whenever this line runs)",
                Location(mismatch.module.path, call.line, call.column),
                evidence=[Evidence(callee.location, f"{what} `{callee.display}` defined here"
                                   + (" (its __init__)" if callee.kind == "class" and callee.function else ""))],
                anchor=f"{mismatch.module.module}:{scope}->{callee.display}",
            )
