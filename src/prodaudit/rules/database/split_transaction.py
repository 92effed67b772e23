from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.branches import BranchArm, exclusive, inside_arm
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# A commit helper (`def commit(self): await self.session.commit()`) is a commit where it
# is called; the helper itself is not "a function committing twice".
COMMIT_METHOD = "commit"
NOT_A_DB_COMMIT = re.compile(r"(^|\.)(git|repo_git|gitpython|index|tx_git)\.commit$", re.IGNORECASE)
MAX_DEPTH = 3


@dataclass(frozen=True)
class _Commit:
    line: int
    how: str  # "await session.commit()" / "crud.create_order() commits"
    where: Location  # the commit itself (for a call: the callee's commit)
    in_loop: bool
    conditional: bool  # inside an if/else arm of the function


@register
class SplitTransaction(ProjectRule):
    """
    ## What it does
    Finds functions on a request path (HTTP route handlers, bot handlers and what they
    call) that commit more than once in one pass: two `session.commit()` calls, or calls to
    two functions that each commit (`crud.create_order(...)` then `crud.reserve_stock(...)`),
    or a commit inside a loop over items. Only commits made on every pass count: those
    inside an `if`/`else` or `match` arm (alternatives, or a side write under a condition)
    and in `except` blocks do not.

    ## Why is this bad?
    Each commit ends a transaction. When the second write fails (a constraint, a timeout,
    the worker being restarted), the first one is already permanent: an order without its
    stock reservation, a message saved without its counter, a summary written while the
    messages it replaces are still there. The request returns an error, yet the database
    holds half of the change, and a retry duplicates the first half.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    app = FastAPI()
    session: AsyncSession


    @app.post("/orders")
    async def create_order(order: dict, item: dict):
        session.add(order)
        await session.commit()
        session.add(item)
        await session.commit()
        return order
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession

    app = FastAPI()
    session: AsyncSession


    @app.post("/orders")
    async def create_order(order: dict, item: dict):
        async with session.begin():
            session.add(order)
            session.add(item)
        return order
    ```

    ## Known limitations
    Commits are recognised by the method name `commit` on any receiver other than a git
    object, and followed three calls deep. Whether two writes are related is not known:
    two deliberately independent commits (an audit record kept even when the main write
    fails) are reported too; suppress them with a reason.
    """

    needs = ("branches", "orm_loops", "orm_queries")
    meta = RuleMeta(
        id="PA308", slug="split-transaction", family="database",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="one request path commits several writes separately: a failure in between "
                "leaves half a change",
        effort_minutes=45, technology=("sqlalchemy",),
        fix="Do the related writes in one transaction: flush between them and commit once "
            "(or `async with session.begin():`).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        queries = project.queries
        graph = project.callgraph
        self._commits: dict[str, list[_Commit]] = {}
        self._deep: dict[str, Location | None] = {}
        for key, node in sorted(graph.nodes.items()):
            if node.fact.name == COMMIT_METHOD or not queries.reached(key):
                continue
            commits = self.commits_in(project, key)
            if not commits:
                continue
            # Only commits every pass makes: a conditional one (a maintenance write, an audit
            # row on denial) is not "the same change split in two".
            steady = [c for c in commits if not c.conditional]
            arms = self.arms(node)
            together = steady[:1]
            for commit in steady[1:]:
                if all(not exclusive(arms, kept.line, commit.line) for kept in together):
                    together.append(commit)
            if len(together) >= 2:
                yield self.several(project, key, node, together)
            elif any(c.in_loop for c in steady):
                yield self.in_loop(project, key, node, next(c for c in steady if c.in_loop))

    # -- what commits -------------------------------------------------------------------------------
    @staticmethod
    def arms(node) -> list[BranchArm]:
        return [a for a in node.module.facts_of(BranchArm) if a.scope == node.fact.qualname]

    @staticmethod
    def in_item_loop(node, line: int) -> bool:
        """Inside a for-loop over items (not a `range()` retry loop or a `while`)."""
        for loop in node.module.loops:
            if loop.scope == node.fact.qualname and loop.line <= line <= loop.end_line:
                iterable = loop.iterable
                if iterable is None or (iterable.kind == "call" and iterable.name in ("range", "builtins.range")):
                    continue
                return True
        return False

    def commits_in(self, project, key: str) -> list[_Commit]:
        """Commit events of one function, in line order: its own commit calls and calls to
        functions that commit."""
        if key in self._commits:
            return self._commits[key]
        graph = project.callgraph
        node = graph.nodes[key]
        arms = self.arms(node)
        found: dict[int, _Commit] = {}
        for call in node.module.calls:
            if call.scope != node.fact.qualname or call.in_except or not self.is_commit(call.callee):
                continue
            found[call.line] = _Commit(call.line, f"`{call.callee}()`",
                                       Location(node.module.path, call.line),
                                       self.in_item_loop(node, call.line), inside_arm(arms, call.line))
        for edge in graph.callees(key):
            if edge.kind != "call" or edge.line in found:
                continue
            where = self.commits_deep(project, edge.callee, 1)
            if where is None:
                continue
            callee = graph.nodes[edge.callee].fact.qualname
            call = next((c for c in node.module.calls if c.line == edge.line), None)
            if call is not None and call.in_except:
                continue
            found[edge.line] = _Commit(edge.line, f"`{callee}()` (commits at {where})", where,
                                       self.in_item_loop(node, edge.line), inside_arm(arms, edge.line))
        result = [found[line] for line in sorted(found)]
        self._commits[key] = result
        return result

    def commits_deep(self, project, key: str, depth: int) -> Location | None:
        """Where `key` (or something it calls, up to MAX_DEPTH) commits on every pass (not
        inside an if/else arm, not in an except block); None if it does not."""
        if key in self._deep:
            return self._deep[key]
        self._deep[key] = None  # cycle guard
        graph = project.callgraph
        node = graph.nodes.get(key)
        found = None
        if node is not None:
            arms = self.arms(node)
            for call in node.module.calls:
                if call.scope == node.fact.qualname and not call.in_except and self.is_commit(call.callee) \
                        and not inside_arm(arms, call.line):
                    found = Location(node.module.path, call.line)
                    break
            if found is None and depth < MAX_DEPTH:
                for edge in graph.callees(key):
                    if edge.kind == "call" and not inside_arm(arms, edge.line):
                        found = self.commits_deep(project, edge.callee, depth + 1)
                        if found is not None:
                            break
        self._deep[key] = found
        return found

    @staticmethod
    def is_commit(callee: str) -> bool:
        return callee.rsplit(".", 1)[-1] == COMMIT_METHOD and "." in callee \
            and NOT_A_DB_COMMIT.search(callee) is None

    # -- findings -------------------------------------------------------------------------------------
    def several(self, project, key, node, commits: list[_Commit]) -> Finding:
        evidence = []
        for commit in commits[:5]:
            evidence.append(Evidence(Location(node.module.path, commit.line), f"{commit.how}"))
            if commit.where.path != node.module.path or commit.where.line != commit.line:
                evidence.append(Evidence(commit.where, "commit here"))
        evidence += project.queries.reach_evidence(key)
        name = node.fact.qualname
        return self.finding(
            f"`{name}` commits {len(commits)} times in one request: if a later write fails, the "
            f"earlier commits stay and the database keeps half of the change",
            Location(node.module.path, commits[1].line), evidence=evidence,
            anchor=f"{key}:split-transaction", details={"commits": len(commits)})

    def in_loop(self, project, key, node, commit: _Commit) -> Finding:
        evidence = [Evidence(Location(node.module.path, commit.line), f"{commit.how} inside a loop")]
        evidence += project.queries.reach_evidence(key)
        return self.finding(
            f"`{node.fact.qualname}` commits once per loop iteration: a failure part-way leaves the "
            f"items before it committed and the rest not",
            Location(node.module.path, commit.line), severity=Severity.LOW,
            confidence=Confidence.MEDIUM, evidence=evidence, anchor=f"{key}:commit-in-loop")
