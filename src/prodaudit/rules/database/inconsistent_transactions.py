from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

REPOSITORY_DIRS = frozenset({"crud", "cruds", "repositories", "repository", "repos", "repo", "dal",
                             "dao", "daos", "stores"})
REPOSITORY_FILE = re.compile(r"(_repository|_repo|_crud|_dao|_store|_repositories)$")
REPOSITORY_CLASS = re.compile(r"(Repository|Repo|DAO|Dao|CRUD|Crud)$")
# Methods that exist to let the caller end the transaction: not the repository committing.
PASSTHROUGH = re.compile(r"^_?(commit|rollback|flush|close|save_changes|complete|__aexit__|__exit__)$")
WRITE_METHODS = frozenset({"add", "add_all", "delete", "merge", "flush"})
MAX_LISTED = 6
SESSION_RECEIVER = re.compile(r"(session|db|_s|sess|uow)$", re.IGNORECASE)


@dataclass(frozen=True)
class _Unit:
    name: str  # "crud/favorite.py" (its functions) or "crud/favorite.py:FavoriteRepository"
    style: str  # "commits" or "defers"
    location: Location  # a commit (or flush / add) that shows the style
    function: str


def transaction_calls(module, method: str) -> list:
    """Calls `<receiver>.<method>()` outside except blocks (rollback paths are not style)."""
    return [c for c in module.calls if c.callee.rsplit(".", 1)[-1] == method and "." in c.callee
            and not c.in_except]


@register
class InconsistentTransactions(ProjectRule):
    """
    ## What it does
    Sorts the repository / CRUD modules (folders `crud`, `repositories`, `dao`...,
    files `*_repository.py`, classes `*Repository`) into those whose write methods commit
    the session themselves (`await session.commit()`) and those that only `flush()` or
    `add()` and leave the commit to the caller, and reports the project when it has both,
    listing the two groups. Methods that exist to let callers commit (`def commit(self)`)
    do not count as committing.

    ## Why is this bad?
    A caller cannot tell from the call whether a write is already durable. A use case that
    calls a committing repository and then a deferring one commits the first write early:
    if the second fails, half of the change stays (the failure PA308 reports per handler).
    A use case that calls only deferring repositories and forgets to commit loses the
    write when the session closes. One convention (usually: the unit of work or the request
    commits, repositories flush) makes both mistakes visible.

    ## Example
    ```python
    class FavoriteRepository:
        def __init__(self, session):
            self.session = session

        async def add(self, favorite) -> None:
            self.session.add(favorite)
            await self.session.commit()


    class HistoryRepository:
        def __init__(self, session):
            self.session = session

        async def add(self, entry) -> None:
            self.session.add(entry)
            await self.session.flush()
    ```

    ## Use instead
    ```python
    class FavoriteRepository:
        def __init__(self, session):
            self.session = session

        async def add(self, favorite) -> None:
            self.session.add(favorite)
            await self.session.flush()


    class HistoryRepository:
        def __init__(self, session):
            self.session = session

        async def add(self, entry) -> None:
            self.session.add(entry)
            await self.session.flush()
    ```
    and one commit per request, in the session dependency or the use case.

    ## Known limitations
    Repositories are recognised by folder, file and class names. A repository that
    commits in some methods and defers in others is counted as committing. Commits in `except`
    blocks (rollback paths) are ignored.
    """

    meta = RuleMeta(
        id="PA307", slug="inconsistent-transactions", family="database",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="repositories split between committing themselves and leaving the commit to "
                "the caller",
        effort_minutes=120, technology=("sqlalchemy",),
        fix="Pick one owner of the transaction (the request's session dependency or the use "
            "case / unit of work) and make every repository only flush.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        units: list[_Unit] = []
        for module in project.summaries("source"):
            units.extend(self.units(module))
        committing = [u for u in units if u.style == "commits"]
        deferring = [u for u in units if u.style == "defers"]
        if not committing or not deferring:
            return
        evidence = [Evidence(u.location, f"`{u.function}` commits itself") for u in committing[:MAX_LISTED]]
        evidence += [Evidence(u.location, f"`{u.function}` leaves the commit to the caller")
                     for u in deferring[:MAX_LISTED]]
        yield self.finding(
            f"Repositories disagree on who commits: {len(committing)} commit inside their methods "
            f"({self.names(committing)}), {len(deferring)} only flush and leave the commit to the "
            f"caller ({self.names(deferring)})",
            committing[0].location, evidence=evidence, anchor="transactions:repositories",
            details={"committing": len(committing), "deferring": len(deferring)})

    @staticmethod
    def names(units: list[_Unit]) -> str:
        shown = ", ".join(u.name for u in units[:3])
        return shown + (f" and {len(units) - 3} more" if len(units) > 3 else "")

    @staticmethod
    def is_repository_module(module) -> bool:
        parts = module.path.split("/")
        stem = parts[-1].rsplit(".", 1)[0]
        return bool(REPOSITORY_DIRS & set(parts[:-1]) or REPOSITORY_FILE.search(stem))

    def units(self, module) -> list[_Unit]:
        """One unit per repository class, plus the module-level functions of a repository
        module; each classified by its write methods."""
        in_repo_module = self.is_repository_module(module)
        grouped: dict[str, list] = {}
        for method in ("commit", *WRITE_METHODS):
            for call in transaction_calls(module, method):
                fn = module.function(call.scope)
                if fn is None or PASSTHROUGH.match(fn.name):
                    continue
                owner = fn.class_name.split(".")[0] if fn.class_name else ""
                if owner and not (REPOSITORY_CLASS.search(owner) or in_repo_module):
                    continue
                if not owner and not in_repo_module:
                    continue
                if method != "commit" and method != "flush" and not SESSION_RECEIVER.search(
                        call.callee.rsplit(".", 1)[0]):
                    continue  # list.add(), set.add()...
                grouped.setdefault(owner, []).append((method, call))
        units = []
        for owner, calls in sorted(grouped.items()):
            commits = [c for m, c in calls if m == "commit"]
            name = f"{module.path}:{owner}" if owner else module.path
            chosen = min(commits or [c for _, c in calls], key=lambda c: c.line)
            units.append(_Unit(name, "commits" if commits else "defers",
                               Location(module.path, chosen.line), chosen.scope))
        return units
