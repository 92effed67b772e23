from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

LINTER_FILES = (".pre-commit-config.yaml", "ruff.toml", ".ruff.toml", ".flake8", "mypy.ini",
                ".mypy.ini", ".pylintrc", "pylintrc", "tox.ini")
LINTER_SECTIONS = re.compile(r"^\[(tool\.(ruff|black|mypy|pylint|isort|flake8|pyright)|flake8|mypy|pylint)",
                             re.MULTILINE)


@register
class NoPreCommitOrLinters(ProjectRule):
    """
    ## What it does
    Reports a project with no linter, formatter or type-checker configuration: no
    .pre-commit-config.yaml, ruff.toml, .flake8, mypy.ini, .pylintrc, tox.ini, and no
    [tool.ruff]/[tool.black]/[tool.mypy]/[tool.pylint]/[tool.isort]/[tool.pyright] or
    [flake8]/[mypy] section in pyproject.toml or setup.cfg.

    ## Why is this bad?
    Style and simple bugs (unused imports, undefined names) are then found in review or
    in production instead of by a tool in seconds (seed 001 #25).

    ## Example
    ```python
    import os
    ```

    ## Use instead
    ```toml
    [tool.ruff]
    line-length = 100
    ```

    ## Known limitations
    Only configuration files are looked at; a linter run only in CI with default settings
    is not seen.
    """

    meta = RuleMeta(
        id="PA903", slug="no-pre-commit-or-linters", family="readiness", dimension=Dimension.READINESS,
        severity=Severity.LOW, summary="no pre-commit, linter or type-checker configuration",
        effort_minutes=30, fix="Add ruff (and mypy) configuration and a pre-commit hook running them.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        if not project.summaries("source"):
            return
        if any((project.root / name).exists() for name in LINTER_FILES):
            return
        for name in ("pyproject.toml", "setup.cfg"):
            text = project.read_text(name) if (project.root / name).is_file() else None
            if text and LINTER_SECTIONS.search(text):
                return
        yield self.finding(
            "No linter, formatter or type-checker configuration", Location(""), anchor="no-linters",
            evidence=[Evidence(Location(""), "searched: " + ", ".join(LINTER_FILES)
                               + ", and [tool.*] linter sections of pyproject.toml/setup.cfg; none found")])
