from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class UnpinnedDependencies(ProjectRule):
    """
    ## What it does
    Reports runtime dependencies with no upper bound (only `>=`, or no version at all)
    when the project has no lock file (poetry.lock, uv.lock, Pipfile.lock, pdm.lock) and
    no requirements file pins them with `==` (a compiled requirements.txt locks what it
    pins; a requirements-dev.txt pinning only test tools locks nothing else).

    ## Why is this bad?
    Every build resolves to whatever is newest that day. A major release of a dependency
    (pydantic 2, SQLAlchemy 2, httpx 1.0) breaks the service at the next deploy, with no
    code change on your side, and two builds of the same commit differ.

    ## Example
    ```text
    fastapi
    sqlalchemy>=2.0
    ```

    ## Use instead
    ```text
    fastapi==0.115.6
    sqlalchemy==2.0.36
    ```

    ## Known limitations
    Lock files are only checked for presence, not for being up to date with the declared
    dependencies.
    """

    meta = RuleMeta(
        id="PA909", slug="unpinned-dependencies", family="readiness", dimension=Dimension.READINESS,
        severity=Severity.LOW, summary="dependencies with no upper bound and no lock file",
        effort_minutes=30,
        fix="Commit a lock file (uv lock, poetry lock, pip-compile) or pin runtime dependencies.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        report = project.dependencies
        # A lock-file format locks everything. A fully pinned requirements file only locks
        # the names it pins (requirements-dev.txt pinning pytest does not lock fastapi).
        if any(not lock.endswith((".txt", ".in")) for lock in report.lock_files):
            return
        pinned = {d.name for d in report.dependencies if d.status == "pinned"}
        loose = [d for d in report.dependencies
                 if d.status == "unbounded" and d.group == "main" and d.name not in pinned]
        if not loose:
            return
        names = ", ".join(d.name for d in loose[:8]) + (" ..." if len(loose) > 8 else "")
        yield self.finding(
            f"{len(loose)} runtime dependencies have no upper bound and there is no lock file ({names})",
            loose[0].location, anchor="unpinned",
            evidence=[Evidence(d.location, f"{d.name} {d.spec or '(no version)'}") for d in loose[:8]],
            details={"unbounded": len(loose), "declared": len(report.dependencies)})
