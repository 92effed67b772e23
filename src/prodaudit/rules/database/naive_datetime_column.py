from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.datetime_values import AttributeWrite, LocalValue
from prodaudit.rules.base import ProjectRule, RuleMeta, register

DATETIME_TYPES = frozenset({"DateTime", "DATETIME", "TIMESTAMP"})
COMPARISONS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "between"})
AWARE, NAIVE = "aware", "naive"
MAX_HOPS = 3
MAX_EVIDENCE = 4
# Text of expressions the Value model keeps as "other" (lambdas): the common spellings.
AWARE_TEXT = re.compile(r"\.now\(\s*(tz\s*=\s*)?[\w.]+|\.now\([^)]*(utc|UTC|timezone|ZoneInfo|tz)")
NAIVE_TEXT = re.compile(r"\.utcnow\(|\.now\(\s*\)|\.today\(\s*\)|\.utcfromtimestamp\(")


@dataclass
class _Use:
    model: object
    column: object
    direction: str  # "aware-into-naive" or "naive-into-aware"
    sites: list = field(default_factory=list)  # (Location, what, origin Location | None)


def _call_tail(value) -> str:
    name = value.name or value.text.split("(")[0]
    return name.rsplit(".", 1)[-1] if name else ""


def _is_datetime_call(value, method: str) -> bool:
    name = value.name or value.text.split("(")[0]
    return name.endswith(f"datetime.{method}") or name == method and "datetime" in value.text


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
                    kind, origin = self.callable_kind(module, value)
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
                kind, origin = self.kind_of(module, fact.scope, flt.value, 0)
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
                        kind, origin = self.kind_of(module, fact.scope, value, 0)
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
                    kind, origin = self.kind_of(module, call.scope, value, 0)
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
                kind, origin = self.kind_of(module, fact.scope, fact.value, 0)
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

    # -- judging values ------------------------------------------------------------------------------
    def callable_kind(self, module, value) -> tuple[str | None, Location | None]:
        """A column default: a callable (`datetime.utcnow`, a helper, a lambda) or a value."""
        if value.kind in ("name", "attr"):
            name = value.name or value.text
            if name.endswith(("datetime.utcnow", "datetime.now", "datetime.today")):
                return NAIVE, None
            found = self.project.function(name) if "." in name else None
            if found is None and "." not in name:
                fn = module.function(name)
                found = (module, fn) if fn else None
            if found is not None:
                return self.returns_kind(found[0], found[1], 1)
            return None, None
        if value.kind == "other" and value.text.startswith("lambda"):
            return self.text_kind(value.text), None
        return self.kind_of(module, "", value, 0)

    @staticmethod
    def text_kind(text: str) -> str | None:
        if NAIVE_TEXT.search(text):
            return NAIVE
        if AWARE_TEXT.search(text):
            return AWARE
        return None

    def kind_of(self, module, scope: str, value, hops: int) -> tuple[str | None, Location | None]:
        """AWARE / NAIVE / None for an expression, with where that was decided."""
        if value is None or hops > MAX_HOPS:
            return None, None
        here = Location(module.path, value.line) if value.line else None
        if value.kind == "await" and value.items:
            return self.kind_of(module, scope, value.items[0], hops)
        if value.kind == "binop" and value.name in ("Add", "Sub") and value.items:
            for item in value.items:
                kind, origin = self.kind_of(module, scope, item, hops)
                if kind is not None:
                    return kind, origin
            return None, None
        if value.kind == "call":
            return self.call_kind(module, scope, value, hops), here
        if value.kind == "name":
            return self.name_kind(module, scope, value.text, hops)
        if value.kind == "other":
            return self.text_kind(value.text), here
        return None, None

    def call_kind(self, module, scope: str, value, hops: int) -> str | None:
        tail = _call_tail(value)
        tz_keyword = value.keyword("tz") or value.keyword("tzinfo")
        if _is_datetime_call(value, "utcnow") or _is_datetime_call(value, "utcfromtimestamp") \
                or _is_datetime_call(value, "today"):
            return NAIVE
        if _is_datetime_call(value, "now"):
            return AWARE if value.items or tz_keyword is not None else NAIVE
        if _is_datetime_call(value, "fromtimestamp"):
            return AWARE if len(value.items) > 1 or tz_keyword is not None else NAIVE
        if _is_datetime_call(value, "combine"):
            return AWARE if len(value.items) > 2 or tz_keyword is not None else None
        if tail == "astimezone":
            return AWARE
        if tail == "replace" and tz_keyword is not None:
            return NAIVE if tz_keyword.kind == "const" and tz_keyword.const is None else AWARE
        found = self.project.function(value.name) if value.name and "." in value.name else None
        if found is None and "." not in value.text.split("(")[0]:
            fn = module.function(value.text.split("(")[0])
            found = (module, fn) if fn else None
        if found is not None:
            return self.returns_kind(found[0], found[1], hops + 1)[0]
        return None

    def returns_kind(self, module, fn, hops: int) -> tuple[str | None, Location | None]:
        kinds = {self.kind_of(module, fn.qualname, v, hops) for v in fn.return_values if v is not None}
        found = {k for k, _ in kinds if k is not None}
        if len(found) == 1 and all(k is not None for k, _ in kinds):
            kind = found.pop()
            origin = next((o for k, o in kinds if k == kind), None)
            return kind, origin
        return None, None

    def name_kind(self, module, scope: str, name: str, hops: int) -> tuple[str | None, Location | None]:
        local = None
        for fact in [*module.assignments, *module.facts_of(LocalValue)]:
            if fact.scope == scope and fact.target == name and (local is None or fact.line >= local.line):
                local = fact  # the last assignment in the function
        if local is not None:
            return self.kind_of(module, scope, local.value, hops + 1)
        fn = module.function(scope) if scope else None
        if fn is None or name not in [p.name for p in fn.params]:
            return None, None
        return self.argument_kind(module, fn, name, hops + 1)

    def argument_kind(self, module, fn, name: str, hops: int) -> tuple[str | None, Location | None]:
        """What callers pass for parameter `name`: one kind when all known callers agree."""
        graph = self.project.callgraph
        key = f"{module.module}:{fn.qualname}"
        positional = [p.name for p in fn.params if p.kind in ("posonly", "arg")]
        if positional and positional[0] in ("self", "cls"):
            positional = positional[1:]
        index = positional.index(name) if name in positional else None
        kinds = set()
        origin = None
        for caller_key, edges in graph.edges_from.items():
            for edge in edges:
                if edge.callee != key:
                    continue
                caller = graph.nodes.get(caller_key)
                if caller is None:
                    continue
                call = next((c for c in caller.module.calls if c.line == edge.line
                             and c.callee.rsplit(".", 1)[-1] == fn.name), None)
                if call is None:
                    continue
                value = call.keyword(name)
                if value is None and index is not None and index < len(call.args):
                    value = call.args[index]
                if value is None:
                    continue
                kind, where = self.kind_of(caller.module, caller.fact.qualname, value, hops)
                kinds.add(kind)
                origin = origin or where or edge.location
        if len(kinds) == 1 and None not in kinds:
            return kinds.pop(), origin
        return None, None

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
