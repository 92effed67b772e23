from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.datetimes import AWARE, NAIVE, DatetimeJudge
from prodaudit.model.extractors.datetime_values import AttributeWrite
from prodaudit.rules.base import ProjectRule, RuleMeta, register

DATETIME_TYPES = frozenset({"DateTime", "DATETIME", "TIMESTAMP"})
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "between"})
MAX_EVIDENCE = 4


@dataclass
class _Use:
    model: object
    column: object
    direction: str  # "aware-into-naive" or "naive-into-aware"
    sites: list = field(default_factory=list)  # (Location, what, origin Location | None)


@register
class NaiveDatetimeColumn(ProjectRule):
    """
    ## What it does
    Compares each `DateTime` column's `timezone=` with the datetimes the code writes into
    it or compares it with: `Model(col=...)`, `obj.col = ...`, `.values(col=...)`,
    `.where(Model.col < cutoff)`, and the column's `default=`/`onupdate=`. A value is
    aware when it comes from `datetime.now(timezone.utc)`/`now(UTC)`/`fromtimestamp(ts,
    tz=...)`/`.astimezone()`, naive from `datetime.utcnow()`/`now()`/`today()`; local
    variables, arithmetic with timedelta, the arguments callers pass and the return values
    of project helpers are followed a few steps.

    ## Why is this bad?
    A `TIMESTAMP WITHOUT TIME ZONE` column given an aware datetime: asyncpg refuses the
    query ("invalid input for query argument $1 ... can't subtract offset-naive and
    offset-aware datetimes"), so it fails every time; psycopg lets PostgreSQL convert it
    with the session's TimeZone, which is right only while that is UTC. A `timezone=True`
    column given naive datetimes stores them in whatever zone is assumed for them, and the
    aware values read back then fail to compare with naive ones in Python ("can't compare
    offset-naive and offset-aware datetimes"); asyncpg takes a naive value as the process's
    local time, psycopg as the session's TimeZone.

    ## Example
    ```python
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import DateTime, select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        created_at: Mapped[datetime] = mapped_column(DateTime)


    async def stale_orders(session: AsyncSession) -> list[Order]:
        cutoff = datetime.now(timezone.utc) - timedelta(minutes=30)
        stmt = select(Order).where(Order.created_at < cutoff).limit(100)
        return list((await session.scalars(stmt)).all())
    ```

    ## Use instead
    ```python
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import DateTime, select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Order(Base):
        __tablename__ = "orders"
        id: Mapped[int] = mapped_column(primary_key=True)
        created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


    async def stale_orders(session: AsyncSession) -> list[Order]:
        cutoff = datetime.now(timezone.utc) - timedelta(minutes=30)
        stmt = select(Order).where(Order.created_at < cutoff).limit(100)
        return list((await session.scalars(stmt)).all())
    ```
    (plus a migration altering the column to `timestamptz`).

    ## Known limitations
    Values are followed through local assignments, `+`/`-` with a timedelta, one level of
    callers for a parameter, and project functions that return a datetime; values from
    settings, libraries (arrow, pendulum) or the database (`func.now()`) are not judged.
    Which object an attribute assignment targets is known only for parameters annotated
    with a model class and for locals built by its constructor.
    """

    needs = ("datetime_values", "orm_loops", "orm_queries")
    meta = RuleMeta(
        id="PA309", slug="naive-datetime-column", family="database",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="DateTime column's timezone= disagrees with the datetimes written into it or "
                "compared with it",
        effort_minutes=60, technology=("sqlalchemy", "postgresql"),
        fix="Use DateTime(timezone=True) (timestamptz) with aware UTC datetimes everywhere, "
            "and a migration converting the column (ALTER ... TYPE timestamptz USING col AT TIME ZONE 'UTC').",
    )

    def check_project(self, project) -> Iterator[Finding]:
        self.project = project
        self.judge = DatetimeJudge(project)
        self.uses: dict[tuple[str, str, str], _Use] = {}
        self.column_defaults()
        self.comparisons_and_values()
        self.constructor_keywords()
        self.attribute_assignments()
        for key in sorted(self.uses):
            yield self.report(self.uses[key])

    # -- recording -----------------------------------------------------------------------------
    def record(self, model, column, kind: str | None, where: Location, what: str,
               origin: Location | None) -> None:
        if kind is None or column.timezone is None or column.type_name not in DATETIME_TYPES:
            return
        if column.timezone is False and kind == AWARE:
            direction = "aware-into-naive"
        elif column.timezone is True and kind == NAIVE:
            direction = "naive-into-aware"
        else:
            return
        key = (model.qualname, column.name, direction)
        use = self.uses.setdefault(key, _Use(model, column, direction))
        if all(site[0] != where for site in use.sites):
            use.sites.append((where, what, origin))

    def column_of(self, module, written: str, resolved: str, attribute: str):
        model = self.project.queries.model_of(module, written, resolved)
        if model is None:
            return None, None
        return model, model.column(attribute)

    # -- sources of values ----------------------------------------------------------------------
    def column_defaults(self) -> None:
        for model in self.project.orm.models:
            module = self.project.modules.get(model.path)
            if module is None:
                continue
            class_scope = model.qualname.split(":", 1)[-1]
            for column in model.columns:
                if column.type_name not in DATETIME_TYPES or not column.attribute:
                    continue
                fact = next((a for a in module.assignments if a.scope == class_scope
                             and a.target == column.attribute), None)
                if fact is None or fact.value is None or fact.value.kind != "call":
                    continue
                for key in ("default", "onupdate"):
                    value = fact.value.keyword(key)
                    if value is None:
                        continue
                    kind, origin = self.judge.callable_kind(module, value)
                    self.record(model, column, kind, Location(module.path, value.line or fact.line),
                                f"{key}={value.text}", origin)

    def comparisons_and_values(self) -> None:
        for site in self.project.queries.sites:
            module, fact = site.module, site.fact
            for flt in fact.filters:
                if flt.op not in COMPARISONS or flt.value is None:
                    continue
                model, column = self.column_of(module, flt.column.model, flt.column.model_name,
                                               flt.column.attribute)
                if column is None:
                    continue
                kind, origin = self.judge.kind_of(module, fact.scope, flt.value, 0)
                self.record(model, column, kind, Location(module.path, flt.column.line),
                            f"compared with `{flt.value.text}`", origin)
            if fact.kind in ("update", "insert") and fact.entities:
                entity = fact.entities[0]
                for part in fact.parts:
                    if part.method != "values":
                        continue
                    for key, value in part.keywords:
                        model, column = self.column_of(module, entity.text, entity.name, key)
                        if column is None:
                            continue
                        kind, origin = self.judge.kind_of(module, fact.scope, value, 0)
                        self.record(model, column, kind, Location(module.path, part.line),
                                    f"`.values({key}={value.text})`", origin)

    def constructor_keywords(self) -> None:
        for module in self.project.summaries("source"):
            for call in module.calls:
                if not call.keywords or not call.callee[:1].isupper() and "." not in call.callee:
                    continue
                model = self.project.queries.model_of(module, call.callee, call.name)
                if model is None:
                    continue
                for key, value in call.keywords:
                    column = model.column(key)
                    if column is None:
                        continue
                    kind, origin = self.judge.kind_of(module, call.scope, value, 0)
                    self.record(model, column, kind, Location(module.path, call.line),
                                f"`{model.name}({key}={value.text})`", origin)

    def attribute_assignments(self) -> None:
        for module in self.project.summaries("source"):
            for fact in module.facts_of(AttributeWrite):
                owner, attribute = fact.owner, fact.attribute
                model = self.owner_model(module, fact.scope, owner)
                if model is None:
                    continue
                column = model.column(attribute)
                if column is None:
                    continue
                kind, origin = self.judge.kind_of(module, fact.scope, fact.value, 0)
                self.record(model, column, kind, Location(module.path, fact.line),
                            f"`{owner}.{attribute} = {fact.value.text}`", origin)

    def owner_model(self, module, scope: str, name: str):
        """The model of a parameter annotated with it, or of a local built by its constructor."""
        queries = self.project.queries
        fn = module.function(scope)
        if fn is not None:
            for param in fn.params:
                if param.name == name and param.annotation is not None \
                        and param.annotation.kind in ("name", "attr"):
                    return queries.model_of(module, param.annotation.text, param.annotation.name)
        local = next((a for a in module.assignments if a.scope == scope and a.target == name), None)
        if local is not None and local.value is not None and local.value.kind == "call":
            written = local.value.text.split("(")[0]
            if written[:1].isupper() or "." in written:
                return queries.model_of(module, written, local.value.name)
        return None

    # -- the finding ----------------------------------------------------------------------------------
    def report(self, use: _Use) -> Finding:
        model, column = use.model, use.column
        driver = self.project.queries.driver or ""
        name = f"{model.name}.{column.attribute or column.name}"
        evidence = [Evidence(column.location, f"`{name}` is DateTime(timezone={column.timezone})")]
        for where, what, origin in use.sites[:MAX_EVIDENCE]:
            evidence.append(Evidence(where, what))
            if origin is not None and origin != where:
                evidence.append(Evidence(origin, "the datetime is made here"))
        if use.direction == "aware-into-naive":
            if driver == "asyncpg":
                consequence = ("asyncpg rejects the query (\"can't subtract offset-naive and "
                               "offset-aware datetimes\"), every time it runs")
                severity = Severity.HIGH
            else:
                consequence = ("the database converts the value with the session's TimeZone, "
                               "right only while that is UTC")
                severity = Severity.MEDIUM
            message = (f"Column `{name}` stores naive datetimes (no timezone=True) but the code "
                       f"writes or compares timezone-aware ones: {consequence}")
        else:
            severity = Severity.MEDIUM
            message = (f"Column `{name}` is timezone-aware but the code writes or compares naive "
                       f"datetimes: they are taken as the local time of the process (asyncpg) or of "
                       f"the database session (psycopg), right only while that is UTC, and aware "
                       f"values read back fail to compare with naive ones (TypeError)")
        return self.finding(message, column.location, severity=severity, evidence=evidence,
                            anchor=f"{model.qualname}.{column.name}:{use.direction}",
                            details={"uses": len(use.sites), "driver": driver or "unknown"})
