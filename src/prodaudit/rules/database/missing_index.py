from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# Comparisons a B-tree index serves. LIKE '%x%' is not one of them (it needs a trigram
# index), and `func.lower(col) == x` needs an expression index: advising a plain index
# there would be wrong, so those are not reported.
INDEXABLE = frozenset({"eq", "in", "lt", "le", "gt", "ge", "between", "join"})
NARROWING = frozenset({"eq", "in"})
LOW_CARDINALITY_TYPES = frozenset({"Boolean", "BOOLEAN", "bool", "Enum", "ENUM"})
# MySQL/MariaDB (InnoDB) create an index for every foreign key themselves.
INDEXES_FOREIGN_KEYS = frozenset({"mysql", "mariadb"})
ON_DELETE_WRITES = frozenset({"CASCADE", "SET NULL", "SET DEFAULT"})
MAX_SITES = 4


@dataclass
class _Use:
    model: object
    column: object
    sites: list = field(default_factory=list)  # (QuerySite, Filter)
    ordered_only: bool = True
    # Every comparison is with a literal or an enum member (`status == "paid"`): a
    # low-cardinality column, where a plain index is rarely the fix.
    constants_only: bool = True


@register
class MissingIndex(ProjectRule):
    """
    ## What it does
    Finds columns that queries reachable from HTTP routes or bot handlers filter
    (`.where(Model.col == x)`, `.filter_by(col=x)`, ranges, `.in_()`), join on, or sort by
    (`.order_by(Model.col)` of a query with no other selective filter) that have no index:
    not the primary key, no `index=True`/`unique=True`, no `Index()`/`UniqueConstraint`
    leading with it, none created by the Alembic migrations. A column that only follows
    other columns in a composite index counts as indexed when the query also filters
    those columns. Also reports foreign-key columns with `ondelete="CASCADE"`/`"SET NULL"`
    and no index (PostgreSQL does not index foreign keys by itself).

    ## Why is this bad?
    Without an index, each such query reads the whole table: fine at 1,000 rows, slow
    at a million, and the cost grows with every row added. For a foreign key, every delete
    of a parent row scans the child table to cascade or check the reference.

    ## Example
    ```python
    from sqlalchemy import ForeignKey, select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Message(Base):
        __tablename__ = "messages"
        id: Mapped[int] = mapped_column(primary_key=True)
        chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
        body: Mapped[str]


    async def history(session: AsyncSession, chat_id: int) -> list[Message]:
        stmt = select(Message).where(Message.chat_id == chat_id).limit(50)
        return list((await session.scalars(stmt)).all())
    ```

    ## Use instead
    ```python
    from sqlalchemy import ForeignKey, select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Message(Base):
        __tablename__ = "messages"
        id: Mapped[int] = mapped_column(primary_key=True)
        chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"), index=True)
        body: Mapped[str]


    async def history(session: AsyncSession, chat_id: int) -> list[Message]:
        stmt = select(Message).where(Message.chat_id == chat_id).limit(50)
        return list((await session.scalars(stmt)).all())
    ```
    (and a migration that creates the index, `CREATE INDEX CONCURRENTLY` on a live table).

    ## Known limitations
    Table sizes are unknown, so a small lookup table is reported like a large one.
    Boolean columns, `LIKE`/`ILIKE` patterns and expressions (`func.lower(col)`) are not
    reported; indexes created by raw SQL the migration reader cannot parse, or only in the
    live database, are not seen. A query whose other filters already use an index is not
    reported for its remaining columns.
    """

    needs = ("orm_loops", "orm_queries")
    meta = RuleMeta(
        id="PA303", slug="missing-index", family="database",
        dimension=Dimension.PERFORMANCE, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="column filtered, joined or sorted in request-path queries (or a cascading "
                "foreign key) with no index in models or migrations",
        effort_minutes=20, technology=("sqlalchemy", "postgresql"),
        fix="Add index=True (or an Index()) on the column and a migration creating it "
            "(CREATE INDEX CONCURRENTLY on a live PostgreSQL table).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        uses = self.query_uses(project)
        reported: set[tuple[str, str]] = set()
        for (table, column_name), use in sorted(uses.items()):
            reported.add((table, column_name))
            yield self.query_finding(project, use)
        if project.queries.dialect not in INDEXES_FOREIGN_KEYS:
            yield from self.foreign_keys(project, reported)

    # -- filters of request-path queries -----------------------------------------------------------
    def query_uses(self, project) -> dict[tuple[str, str], _Use]:
        queries, orm = project.queries, project.orm
        uses: dict[tuple[str, str], _Use] = {}
        for site in queries.sites:
            fact = site.fact
            if fact.kind not in ("select", "query", "update", "delete") or not queries.reached(site.key):
                continue
            resolved = []
            for flt in fact.filters:
                if flt.op not in INDEXABLE and flt.op != "order":
                    continue
                model = queries.column_model(site.module, flt.column)
                if model is None or not model.table:
                    continue
                column = model.column(flt.column.attribute)
                if column is None or column.type_name in LOW_CARDINALITY_TYPES:
                    continue
                resolved.append((flt, model, column))
            equal = {(m.table, c.name) for f, m, c in resolved if f.op in NARROWING and f.clause != "order_by"}
            narrowed = {m.table for f, m, c in resolved
                        if f.op in NARROWING and self.served(orm, m.table, c.name, equal)}
            for flt, model, column in resolved:
                if model.table in narrowed or self.served(orm, model.table, column.name, equal):
                    continue
                if flt.op == "order" and (fact.filters and any(f.op != "order" for f in fact.filters)
                                          or not fact.has("limit")):
                    # Sorting a filtered set, or the whole table anyway: an index is not the fix.
                    continue
                use = uses.setdefault((model.table, column.name), _Use(model, column))
                use.sites.append((site, flt))
                use.ordered_only = use.ordered_only and flt.op == "order"
                use.constants_only = use.constants_only and flt.op != "order" and self.constant(flt.value)
        return {key: use for key, use in uses.items() if not use.constants_only}

    @staticmethod
    def constant(value) -> bool:
        if value is None:
            return False
        if value.kind == "const":
            return True
        if value.kind == "attr":  # OrderStatus.PAID
            head = value.text.rsplit(".", 1)[0].rsplit(".", 1)[-1]
            return head[:1].isupper() and value.text.rsplit(".", 1)[-1].isupper()
        if value.kind in ("list", "tuple", "set"):
            return bool(value.items) and all(MissingIndex.constant(item) for item in value.items)
        return False

    @staticmethod
    def served(orm, table: str, column: str, equal: set[tuple[str, str]]) -> bool:
        """An index (or the primary key) leads with the column, or has it after columns
        the same query compares for equality."""
        groups = [i.columns for i in orm.indexes(table)] + list(orm.primary_keys(table))
        for columns in groups:
            if column in columns:
                before = columns[:columns.index(column)]
                if all((table, c) in equal for c in before):
                    return True
        return False

    def query_finding(self, project, use: _Use) -> Finding:
        model, column = use.model, use.column
        queries = project.queries
        evidence = [Evidence(column.location, f"`{model.name}.{column.attribute or column.name}` "
                                              "defined here without an index")]
        seen = set()
        for site, flt in use.sites:
            if site.location in seen:
                continue
            seen.add(site.location)
            how = {"order": "sorted by", "join": "joined on"}.get(flt.op, "filtered on")
            evidence.append(Evidence(Location(site.module.path, flt.column.line),
                                     f"{how} `{flt.column.model}.{flt.column.attribute}` here"))
            evidence += queries.reach_evidence(site.key)
            if len(seen) >= MAX_SITES:
                break
        fk = f" (a foreign key to {column.foreign_key})" if column.foreign_key else ""
        count = len({site.location for site, _ in use.sites})
        one = count == 1
        verb = ("sorts by" if one else "sort by") if use.ordered_only else (
            "filters or joins on" if one else "filter or join on")
        subject = f"{count} request-path quer{'y' if one else 'ies'}"
        return self.finding(
            f"Column `{model.table}.{column.name}`{fk} has no index, and {subject} {verb} it: "
            f"each one reads the whole `{model.table}` table as it grows",
            column.location, severity=Severity.LOW if use.ordered_only else Severity.MEDIUM,
            evidence=evidence, anchor=f"{model.qualname}.{column.attribute or column.name}",
            details={"queries": count})

    # -- cascading foreign keys -----------------------------------------------------------------
    def foreign_keys(self, project, reported: set[tuple[str, str]]) -> Iterator[Finding]:
        """One finding per (child table, parent table): `anime.created_by`, `updated_by`...
        all referencing `users` are one fix list."""
        orm = project.orm
        groups: dict[tuple[str, str], list] = {}
        seen: set[tuple[str, str]] = set()
        # Tables only touched conditionally (`if inspector.has_table(...)`) may not exist.
        known_tables = orm.table_names()
        for fk in orm.foreign_keys():
            if not fk.table or fk.table not in known_tables or len(fk.columns) != 1 or (fk.ondelete or "").upper() not in ON_DELETE_WRITES:
                continue
            key = (fk.table, fk.column)
            if key in seen or key in reported or self.served(orm, fk.table, fk.column, set()):
                continue
            seen.add(key)
            groups.setdefault((fk.table, fk.target_table or fk.target), []).append(fk)
        for (table, parent), fks in sorted(groups.items()):
            first = fks[0]
            columns = ", ".join(f"`{fk.column}` (ondelete={fk.ondelete})" for fk in fks)
            plural = len(fks) > 1
            evidence = [Evidence(fk.location, f"foreign key `{table}.{fk.column}` -> `{fk.target}` "
                                              f"declared here ({fk.source})") for fk in fks]
            yield self.finding(
                f"Foreign key{'s' if plural else ''} {columns} of `{table}` to `{parent}` "
                f"{'have' if plural else 'has'} no index: each delete of a `{parent}` row scans "
                f"`{table}`{' once per key' if plural else ''} to cascade or clear the references",
                first.location, severity=Severity.LOW, confidence=Confidence.HIGH,
                evidence=evidence, anchor=f"{table}->{parent}:fk-index",
                details={"foreign_keys": len(fks)})
