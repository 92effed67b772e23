from __future__ import annotations

import sys
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class UnparseableFile(ProjectRule):
    """
    ## What it does
    Reports Python files that cannot be parsed: syntax errors, undecodable bytes (not
    UTF-8 and no PEP 263 coding cookie), NUL bytes. Such a file is not analysed further,
    so every other rule is blind to it.

    ## Why is this bad?
    A module with a syntax error fails at import: the application (or the test run that
    imports it) crashes at startup or the first time the code path is reached. When the
    file only uses syntax newer than the Python running prodaudit (PEP 695 generics,
    PEP 701 f-strings), the finding is `info` and says which interpreter parses it.

    ## Example
    ```python
    def broken(:
        pass
    ```

    ## Use instead
    ```python
    def fixed():
        pass
    ```

    ## Known limitations
    Only the first syntax error of a file is reported (like the interpreter). Whether
    syntax is "newer" is decided by parsing again with the newest `python3.X` found on
    PATH; without one, new syntax is reported as a syntax error of severity high.
    """

    meta = RuleMeta(
        id="PA001", slug="unparseable-file", family="audit", dimension=Dimension.RELIABILITY,
        severity=Severity.HIGH, summary="Python file that cannot be parsed or decoded",
        effort_minutes=10, file_kinds=("source", "test", "migration"),
        fix="Fix the syntax or the encoding so the module can be imported.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        for summary in project.summaries():
            problem = summary.problem
            if problem is None:
                continue
            location = Location(summary.path, problem.line, problem.column)
            if problem.kind == "newer-syntax":
                running = f"{sys.version_info[0]}.{sys.version_info[1]}"
                yield self.finding(
                    f"Syntax newer than Python {running} (which runs prodaudit): file not analysed "
                    f"({problem.message})", location, severity=Severity.INFO,
                    confidence=Confidence.HIGH, anchor="newer-syntax",
                    fix="Run prodaudit with a newer Python (the one the project targets) to analyse it.")
            elif problem.kind == "decode":
                yield self.finding(f"File cannot be read as Python source: {problem.message}",
                                   location, anchor="decode")
            else:
                running = f"{sys.version_info[0]}.{sys.version_info[1]}"
                yield self.finding(f"Syntax error under Python {running}: {problem.message}",
                                   location, anchor="syntax")
