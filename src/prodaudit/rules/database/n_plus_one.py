from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.queries import EAGER, REFUSES_LAZY
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# Relationship loader strategies that load with the parent (or refuse to load lazily).
EAGER_LAZY = frozenset({"selectin", "joined", "subquery", "immediate", "raise", "raise_on_sql",
                        "noload", "write_only", "dynamic"})
READ_KINDS = frozenset({"select", "get", "query"})
# Loops over a class (an Enum), a literal collection or range(<literal>): a fixed, small set.
FIXED_ITERABLE = re.compile(r"^([A-Z]\w*(\.[A-Z]\w*)*|[\[(].*[\])]|range\(\s*\d+\s*(,\s*\d+\s*)?\))$", re.DOTALL)


@register
class NPlusOne(ProjectRule):
    """
    ## What it does
    Finds loops over ORM query results (`result.scalars()`, `.all()`, `await
    session.scalars(...)`, the rows a repository function returns, a relationship
    collection) whose body reads a relationship of the loop variable that is loaded lazily:
    the relationship has the default `lazy="select"` and the query has no
    `selectinload`/`joinedload`/`subqueryload`/`contains_eager`/`raiseload` option for it.
    Also finds a query executed inside a loop for each item (`await session.get(...)`,
    `await session.execute(select(...).where(X.id == item.id))`).

    ## Why is this bad?
    With a sync Session, each lazy load is one more SELECT per row: 1 query for the list
    plus N for the relationship (N+1), so a page of 100 rows costs 101 round trips. With
    an `AsyncSession` a lazy load cannot run at all: reading the attribute raises
    `sqlalchemy.exc.MissingGreenlet` ("greenlet_spawn has not been called") unless the
    related row is already in the session, so the endpoint fails rather than being slow.
    `await row.awaitable_attrs.rel` makes the async load work, one round trip per row.

    ## Example
    ```python
    from sqlalchemy import ForeignKey, select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


    class Base(DeclarativeBase):
        pass


    class Author(Base):
        __tablename__ = "authors"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]


    class Book(Base):
        __tablename__ = "books"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
        author: Mapped[Author] = relationship()


    async def book_titles(session: AsyncSession) -> list[str]:
        result = await session.execute(select(Book).limit(50))
        return [f"{book.author.name}: {book.id}" for book in result.scalars()]
    ```

    ## Use instead
    ```python
    from sqlalchemy import ForeignKey, select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


    class Base(DeclarativeBase):
        pass


    class Author(Base):
        __tablename__ = "authors"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]


    class Book(Base):
        __tablename__ = "books"
        id: Mapped[int] = mapped_column(primary_key=True)
        author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
        author: Mapped[Author] = relationship()


    async def book_titles(session: AsyncSession) -> list[str]:
        stmt = select(Book).options(selectinload(Book.author)).limit(50)
        result = await session.execute(stmt)
        return [f"{book.author.name}: {book.id}" for book in result.scalars()]
    ```

    ## Known limitations
    Rows are followed within a function and through functions that return a query's rows
    (up to three `return await other(...)` hops); rows passed as arguments, serialised by
    pydantic/FastAPI `response_model` (which also reads relationships), or loaded by a
    statement built in a helper are not followed. Whether the related rows happen to be in
    the session's identity map already is not known.
    """

    needs = ("orm_loops", "orm_queries")
    meta = RuleMeta(
        id="PA302", slug="n-plus-one", family="database",
        dimension=Dimension.PERFORMANCE, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="loop over query rows reading a lazy relationship with no eager loading "
                "(MissingGreenlet under AsyncSession); a query per loop item",
        effort_minutes=30, technology=("sqlalchemy",),
        fix="Load the relationship with the query: .options(selectinload(Model.rel)) for "
            "collections, joinedload(Model.rel) for many-to-one; or one query with "
            "`.where(Model.id.in_(ids))` instead of one per item.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        queries = project.queries
        for site in queries.loops:
            yield from self.lazy_reads(project, site)
        yield from self.queries_in_loops(project)

    # -- lazy relationship reads in loops over rows ---------------------------------------------
    def origin_query(self, project, module, scope, kind, query_line, callee, call_line):
        queries = project.queries
        if kind == "query":
            return queries.query_at(module, scope, query_line)
        target = queries.callee_key(module, scope, callee, call_line)
        return queries.returned_rows(target) if target else None

    def lazy_reads(self, project, site) -> Iterator[Finding]:
        queries, orm, loop = project.queries, project.orm, site.loop
        base_kind = loop.base_origin if loop.origin == "relationship" else loop.origin
        query = self.origin_query(project, site.module, loop.scope, base_kind, loop.query_line,
                                  loop.callee, loop.call_line)
        if query is None or not query.fact.scalar_rows or query.fact.kind not in READ_KINDS:
            return
        model = queries.entity_model(query)
        if model is None:
            return
        collection = None
        if loop.origin == "relationship":
            collection = orm.relationship_of(model, loop.attribute)
            if collection is None or collection.target_model is None:
                return
            parent = model
            model = orm.model(collection.target_model)
            if model is None:
                return
            if not self.is_loaded(queries, query.fact, parent, loop.attribute, collection) \
                    and query.fact.awaited and collection.lazy == "select":
                yield self.collection_finding(project, site, query, parent, loop.attribute)
                return
        subject = (f"`{loop.iterable_text}` (loaded by {self.statement_text(query)})"
                   if loop.origin == "relationship" else f"{self.statement_text(query)} rows")
        lazy = []
        for read in loop.reads:
            rel = orm.relationship_of(model, read.attribute)
            if rel is None or rel.lazy is None or rel.lazy in EAGER_LAZY or rel.lazy not in ("select", "True"):
                continue
            if self.is_loaded(queries, query.fact, model, read.attribute, rel):
                continue
            lazy.append((read, rel))
        if not lazy:
            return
        yield self.reads_finding(project, site, query, model, lazy, subject)

    @staticmethod
    def is_loaded(queries, fact, model, attribute: str, rel) -> bool:
        strategy = queries.loading_of(fact, model.name, attribute)
        return strategy in EAGER or strategy in REFUSES_LAZY or rel.lazy in EAGER_LAZY

    def reads_finding(self, project, site, query, model, lazy, subject: str) -> Finding:
        loop = site.loop
        names = ", ".join(f"`{model.name}.{read.attribute}`" for read, _ in lazy)
        awaitable = all(read.how == "awaitable" for read, _ in lazy)
        statement = self.statement_text(query)
        evidence = [Evidence(query.location, f"{statement} executed without "
                                             f"selectinload/joinedload for {names}")]
        for read, rel in lazy[:4]:
            how = (f"`await {loop.target}.awaitable_attrs.{read.attribute}`" if read.how == "awaitable"
                   else f"`{loop.target}.{read.attribute}`")
            evidence.append(Evidence(Location(site.module.path, read.line), f"{how} read per row"))
            evidence.append(Evidence(rel.location, f"relationship `{model.name}.{read.attribute}` "
                                                   f"is lazy=\"{rel.lazy}\""))
        evidence += project.queries.reach_evidence(site.key)
        if awaitable:
            consequence = "one extra round trip per row (N+1)"
            severity = Severity.MEDIUM
        elif query.fact.awaited:
            consequence = ("under AsyncSession the lazy load raises sqlalchemy.exc.MissingGreenlet "
                           "(unless the related rows are already in the session)")
            severity = Severity.HIGH
        else:
            consequence = "one extra SELECT per row (N+1)"
            severity = Severity.MEDIUM
        return self.finding(
            f"Loop over {subject} reads lazy relationship {names} for each `{loop.target}`: "
            f"{consequence}",
            site.location, severity=severity, evidence=evidence,
            anchor=f"{site.key}:{loop.target}", details={"relationships": len(lazy)})

    def collection_finding(self, project, site, query, parent, attribute) -> Finding:
        statement = self.statement_text(query)
        evidence = [Evidence(query.location, f"{statement} executed with await, no eager load "
                                             f"of `{parent.name}.{attribute}`")]
        evidence += project.queries.reach_evidence(site.key)
        return self.finding(
            f"Iterating lazy collection `{parent.name}.{attribute}` of a {statement} row under "
            f"AsyncSession raises sqlalchemy.exc.MissingGreenlet (a lazy load cannot run there)",
            site.location, severity=Severity.HIGH, evidence=evidence,
            anchor=f"{site.key}:{attribute}")

    @staticmethod
    def statement_text(query) -> str:
        fact = query.fact
        entity = fact.entities[0].text if fact.entities else "?"
        if fact.kind == "query":
            return f"`query({entity})`"
        if fact.kind == "get":
            return f"`session.get({entity})`"
        return f"`select({entity})`"

    # -- a query per loop item -------------------------------------------------------------------
    def queries_in_loops(self, project) -> Iterator[Finding]:
        queries = project.queries
        for site in queries.sites:
            fact = site.fact
            if not (fact.in_loop and fact.uses_loop_var and fact.executed_line and fact.loop_iterable):
                continue
            if fact.kind not in READ_KINDS:
                continue
            if any(f.op == "in" for f in fact.filters):
                continue  # already batched: one query per chunk of ids
            if FIXED_ITERABLE.match(fact.loop_iterable.strip()):
                continue  # a fixed handful of items (enum members, a literal list)
            reached = queries.reached(site.key)
            where = Location(site.module.path, fact.executed_line)
            evidence = [Evidence(Location(site.module.path, fact.loop_line),
                                 f"loop over `{fact.loop_iterable}`")]
            evidence += queries.reach_evidence(site.key)
            call = self.statement_text(site)
            yield self.finding(
                f"{call} runs once per item of `{fact.loop_iterable}`: one database round trip "
                f"per item (N+1); load them in one query with `.in_(...)`",
                where, severity=Severity.MEDIUM if reached else Severity.LOW,
                evidence=evidence, anchor=f"{site.key}:query-in-loop",
                fix="Collect the ids and run one query: select(Model).where(Model.id.in_(ids)), "
                    "then look rows up in a dict.")
