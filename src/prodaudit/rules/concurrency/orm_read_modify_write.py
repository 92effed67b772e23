from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.read_modify_write import AttributeUpdate
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.orm_rows import OrmClasses
from prodaudit.rules.concurrency.reach import handler_reach, reached_evidence, who


@register
class OrmReadModifyWrite(ProjectRule):
    """
    ## What it does
    Finds arithmetic on an ORM row's column done in Python and then committed:
    `user.balance -= price`, `post.views = post.views + 1`, `book.stock -= quantity`, where
    the object is a row (loaded with `session.get`, a `select(...)` result, a project
    function returning the model, or a parameter annotated with the model) and the code is
    reached from a route or bot handler. Rows loaded with `with_for_update()` are not
    reported.

    ## Why is this bad?
    The value is read when the row is loaded and written back at commit. Two concurrent
    requests both read `stock = 5`, both subtract 1 and both write 4: one sale is lost and
    the shop oversells; two purchases against one balance both succeed. Nothing fails, the
    numbers are just wrong (seed 001 critical #2, the message counter). The database can do
    the arithmetic atomically, or lock the row for the transaction.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Account(Base):
        __tablename__ = "accounts"
        id: Mapped[int] = mapped_column(primary_key=True)
        balance: Mapped[int]


    app = FastAPI()
    SessionLocal = async_sessionmaker()


    @app.post("/accounts/{account_id}/charge")
    async def charge(account_id: int, amount: int):
        async with SessionLocal() as session:
            account = await session.scalar(select(Account).where(Account.id == account_id))
            account.balance -= amount
            await session.commit()
        return {"ok": True}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Account(Base):
        __tablename__ = "accounts"
        id: Mapped[int] = mapped_column(primary_key=True)
        balance: Mapped[int]


    app = FastAPI()
    SessionLocal = async_sessionmaker()


    @app.post("/accounts/{account_id}/charge")
    async def charge(account_id: int, amount: int):
        async with SessionLocal() as session:
            await session.execute(
                update(Account)
                .where(Account.id == account_id, Account.balance >= amount)
                .values(balance=Account.balance - amount)
            )
            await session.commit()
        return {"ok": True}
    ```

    ## Known limitations
    Only `+=`, `-=` and `x.a = x.a +/- n` on a local name. Rows copied into DTOs (pydantic
    models) and written back with an UPDATE of every column have the same race and are not
    recognised. A lock taken elsewhere (an advisory lock, a Redis lock, a serialisable
    transaction) is not seen. The commit must be in the function, a caller on the path
    from the entry point, a `session.begin()` block, or a session dependency that commits.
    """

    needs = ("read_modify_write",)
    meta = RuleMeta(
        id="PA106", slug="orm-read-modify-write", family="concurrency",
        dimension=Dimension.RELIABILITY, severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="ORM column changed with Python arithmetic then committed: concurrent requests lose updates",
        effort_minutes=45, technology=("sqlalchemy",),
        fix="Let the database do the arithmetic (`update(Model).values(n=Model.n + 1)`) or load the "
            "row with `.with_for_update()` (SELECT ... FOR UPDATE) before changing it.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        reach = None
        orm = OrmClasses(project)
        graph = project.callgraph
        for module in project.summaries("source"):
            for fact in module.facts_of(AttributeUpdate):
                if fact.row_locked or fact.origin == "unknown":
                    continue
                reach = handler_reach(project) if reach is None else reach
                key = f"{module.module}:{fact.scope}"
                hit = reach.get(key)
                if hit is None:
                    continue
                found = self.row_model(project, orm, module, fact)
                if found is None:
                    continue
                model, how, loader = found
                if loader is not None and self.locks_rows(graph, loader):
                    continue
                commit = self.commit_for(project, module, fact, key, hit)
                if commit is None:
                    continue
                commit_location, commit_role = commit
                evidence = []
                if fact.origin_line:
                    evidence.append(Evidence(Location(module.path, fact.origin_line),
                                             f"row loaded without a lock: {how}"))
                evidence += [Evidence(Location(module.path, fact.line), f"changed in Python: `{fact.text}`"),
                             Evidence(commit_location, commit_role), reached_evidence(project, key, hit)]
                yield self.finding(
                    f"`{fact.text}` changes a {model} row in Python and commits it: two concurrent "
                    f"{who(hit[0])} ({hit[0]}) read the same `{fact.attribute}` and one update is lost",
                    Location(module.path, fact.line),
                    evidence=evidence,
                    fix=(f"Let the database do it: `update({model}).where(...).values({fact.attribute}="
                         f"{model}.{fact.attribute} {'-' if '-' in fact.text else '+'} ...)`, or load the row "
                         f"with `.with_for_update()` before changing it."),
                    anchor=f"{key}:{fact.obj}.{fact.attribute}",
                    excerpt=fact.text,
                )

    def row_model(self, project, orm: OrmClasses, module, fact: AttributeUpdate):
        """(model name, how it was loaded, loader function key or None) when fact.obj is a row."""
        graph = project.callgraph
        if fact.origin == "param":
            models = orm.classes_in_annotation(module, fact.annotation)
            return (models[0], f"parameter `{fact.obj}: {fact.annotation.text}`", None) if models else None
        if fact.origin == "loop" and fact.annotation is not None:
            models = orm.classes_in_annotation(module, fact.annotation, element=True, index=fact.loop_index)
            return (models[0], f"iterating a parameter annotated `{fact.annotation.text}`", None) if models else None
        source = fact.source
        if source is not None and source.kind == "await" and source.items:
            source = source.items[0]
        if source is None:
            return None
        if source.kind == "call":
            callee = graph.resolve_call(module, fact.scope, source.text.split("(")[0], source.name)
            node = graph.nodes.get(callee) if callee else None
            if node is not None:
                element = fact.origin == "loop"
                if element and fact.loop_index >= 0:
                    return None
                models = orm.classes_in_annotation(node.module, node.fact.returns, element=element)
                if models:
                    return models[0], f"`{source.text[:60]}` returns {models[0]}", callee
                return None
        if fact.origin == "loop" and fact.loop_index >= 0:
            return None  # rows of several entities: which one is which is not evident
        models = orm.selected_models(module, [source, *fact.feeds])
        if len(set(models)) == 1:
            return models[0], f"`{source.text[:60]}`", None
        return None

    @staticmethod
    def locks_rows(graph, function_key: str) -> bool:
        node = graph.nodes.get(function_key)
        if node is None:
            return False
        return any(call.scope == node.fact.qualname and "with_for_update" in (call.callee + call.name
                   + "".join(k for k, _ in call.keywords)) for call in node.module.calls)

    def commit_for(self, project, module, fact: AttributeUpdate, key: str, hit):
        """Where the change is committed: this function (after the update, or a
        session.begin() block around it), a function it calls that commits, a caller on the
        path from the entry point, or a session dependency that commits after the handler."""
        graph = project.callgraph
        for call in module.calls:
            if call.scope != fact.scope:
                continue
            if call.callee.endswith(".commit") and call.line >= fact.line:
                return Location(module.path, call.line), "committed here"
            if call.callee.endswith(".begin") and call.with_item and call.line <= fact.line:
                return Location(module.path, call.line), "committed when this transaction block ends"
        for edge in graph.callees(key):
            if edge.line >= fact.line and self._commits(graph, edge.callee):
                return edge.location, f"committed by `{edge.callee.split(':', 1)[1]}`"
        for edge in hit[1]:
            if self._commits(graph, edge.caller):
                caller = graph.nodes[edge.caller]
                return caller.location, f"committed by the caller `{caller.fact.qualname}`"
        if not hit[0].startswith("bot "):
            for node in graph.nodes.values():
                if node.fact.has_yield and self._commits(graph, node.key):
                    return node.location, f"committed after the request by the dependency `{node.fact.qualname}`"
        return None

    @staticmethod
    def _commits(graph, function_key: str) -> bool:
        node = graph.nodes.get(function_key)
        if node is None:
            return False
        return any(call.scope == node.fact.qualname and (
            call.callee.endswith(".commit") or (call.callee.endswith(".begin") and call.with_item))
            for call in node.module.calls)
