"""ORM model: what the ORM libraries are called, and the frozen records (see orm.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from prodaudit.findings import Location

# -- what the ORM libraries are called ------------------------------------------------------
DECLARATIVE_BASE_CLASSES = frozenset({
    "sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
    "sqlalchemy.orm.decl_api.DeclarativeBase", "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta",
})
DECLARATIVE_FACTORIES = frozenset({
    "sqlalchemy.orm.declarative_base", "sqlalchemy.ext.declarative.declarative_base",
    "sqlalchemy.orm.decl_api.declarative_base", "sqlalchemy.ext.declarative.api.declarative_base",
})
SQLMODEL_BASES = frozenset({"sqlmodel.SQLModel"})
FLASK_SQLALCHEMY = frozenset({"flask_sqlalchemy.SQLAlchemy", "flask_sqlalchemy.extension.SQLAlchemy"})
# Callees are matched by their last name part unless their first part is another library's:
# `db.Column`, `sa.orm.mapped_column` and a star-imported `Column` all count.
FOREIGN_HEADS = frozenset({
    "pydantic", "dataclasses", "attr", "attrs", "marshmallow", "django", "peewee", "tortoise",
    "mongoengine", "ormar", "beanie", "odmantic", "piccolo", "pony", "msgspec", "typing",
    "builtins", "wtforms", "graphene", "strawberry",
})
COLUMN_CALLS = frozenset({"Column", "mapped_column"})
RELATIONSHIP_CALLS = frozenset({"relationship", "relation", "dynamic_loader"})
WRAPPER_CALLS = frozenset({"deferred", "column_property"})
# Positional arguments of Column(...) that are not its type.
SCHEMA_ITEMS = frozenset({
    "ForeignKey", "Sequence", "Identity", "Computed", "FetchedValue", "DefaultClause",
    "CheckConstraint", "UniqueConstraint", "PrimaryKeyConstraint", "ForeignKeyConstraint", "Index",
})
MAPPED_WRAPPERS = {"Mapped": "", "WriteOnlyMapped": "write_only", "DynamicMapped": "dynamic"}
COLLECTIONS = frozenset({"list", "List", "set", "Set", "frozenset", "FrozenSet", "Sequence",
                         "MutableSequence", "Collection", "Iterable", "AbstractSet", "MutableSet"})
# SQLAlchemy 2.0's default type_annotation_map (Python type -> SQL type), and SQLModel's.
ANNOTATION_TYPES = {
    "int": "Integer", "str": "String", "float": "Float", "bool": "Boolean", "bytes": "LargeBinary",
    "datetime.datetime": "DateTime", "datetime.date": "Date", "datetime.time": "Time",
    "datetime.timedelta": "Interval", "decimal.Decimal": "Numeric", "uuid.UUID": "Uuid",
}
SQLMODEL_TYPES = {**ANNOTATION_TYPES, "str": "AutoString", "pydantic.EmailStr": "AutoString",
                  "pathlib.Path": "AutoString", "ipaddress.IPv4Address": "AutoString",
                  "ipaddress.IPv6Address": "AutoString"}
TIMEZONE_TYPES = frozenset({"DateTime", "DATETIME", "TIMESTAMP", "Time", "TIME"})
LAZY_CONSTANTS = {True: "select", False: "joined", None: "noload"}
UPGRADE, DOWNGRADE = "upgrade", "downgrade"
MAX_CALL_ARGS = 32  # CallFact.args keeps this many (model/collect.py)
CREATE_INDEX_SQL = re.compile(
    r"CREATE\s+(?P<unique>UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>[\w.\"]+)\s+ON\s+(?:ONLY\s+)?(?P<table>[\w.\"]+)\s*(?:USING\s+\w+\s*)?\((?P<cols>[^;]*)\)",
    re.IGNORECASE)
DROP_INDEX_SQL = re.compile(
    r"DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<name>[\w.\"]+)", re.IGNORECASE)

# -- the records ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str  # the database column name
    attribute: str  # the Python attribute ("" for Core tables and migrations)
    type_name: str | None  # "String", "DateTime", "Integer", "ForeignKey" (only a FK given)...
    nullable: bool | None
    primary_key: bool
    index: bool
    unique: bool
    foreign_key: str | None  # "users.id"
    ondelete: str | None  # "CASCADE", as written
    timezone: bool | None  # DateTime(timezone=True); None for non-datetime types or unknown
    location: Location


@dataclass(frozen=True)
class Relationship:
    attribute: str
    target: str | None  # the class as written: "Anime", "app.models.Anime"
    target_model: str | None  # qualname of the resolved model ("app.models.anime:Anime")
    lazy: str | None  # "select" when not given; None when given but not a literal
    cascade: str | None
    back_populates: str | None
    uselist: bool | None  # explicit, or from a Mapped[list[...]] / Mapped[X] annotation
    location: Location
    backref: str | None = None
    secondary: str | None = None  # the association table as written
    passive_deletes: bool | None = None
    # Set on relationships created by another model's backref=: "Book.author".
    backref_of: str | None = None


@dataclass(frozen=True)
class Index:
    name: str | None  # None when not written (naming conventions decide it)
    columns: tuple[str, ...]  # column names; expressions as their source text
    unique: bool
    location: Location
    source: str  # "model" (ORM class or Core Table) or "migration"
    table: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    table: str | None
    columns: tuple[str, ...]
    references: tuple[str, ...]  # "users.id" per column
    ondelete: str | None
    location: Location
    source: str  # "model" or "migration"
    name: str | None = None
    owner: str = ""  # model qualname, "module:variable" of a Core table, or migration path

    @property
    def column(self) -> str:
        return self.columns[0] if self.columns else ""

    @property
    def target(self) -> str:
        return self.references[0] if self.references else ""

    @property
    def target_table(self) -> str | None:
        return self.target.rpartition(".")[0] or None


@dataclass(frozen=True)
class Model:
    name: str
    qualname: str  # "app.models.anime:Anime"
    table: str | None  # __tablename__, derived, or None when it cannot be known
    columns: tuple[Column, ...]
    relationships: tuple[Relationship, ...]
    indexes: tuple[Index, ...]
    location: Location
    style: str  # "declarative-2.0", "declarative-1.x", "sqlmodel"
    path: str
    foreign_keys: tuple[ForeignKey, ...] = ()
    primary_key: tuple[str, ...] = ()  # column names, in order
    parent: str | None = None  # mapped parent model (single/joined table inheritance)
    schema: str | None = None  # __table_args__ = {"schema": "billing"}

    def column(self, name: str) -> Column | None:
        """By attribute first, then by database column name."""
        for column in self.columns:
            if column.attribute == name:
                return column
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def relationship(self, attribute: str) -> Relationship | None:
        for rel in self.relationships:
            if rel.attribute == attribute:
                return rel
        return None


@dataclass(frozen=True)
class TableDef:
    """A Core `Table("name", metadata, Column(...), ...)` in application code."""

    name: str  # the variable it is assigned to ("" when not assigned)
    qualname: str  # "app.models:book_tags"
    table: str | None
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...]
    foreign_keys: tuple[ForeignKey, ...]
    primary_key: tuple[str, ...]
    location: Location
    path: str


@dataclass(frozen=True)
class MigrationOp:
    # create_table, create_index, add_column, create_foreign_key, drop_index, drop_table,
    # create_unique_constraint, create_primary_key, drop_constraint, drop_column
    kind: str
    table: str | None
    columns: tuple[str, ...]
    name: str | None  # index / constraint name (drop_constraint: the dropped name)
    ondelete: str | None
    unique: bool
    location: Location
    references: tuple[str, ...] = ()  # create_foreign_key: "users.id" per column
    column_defs: tuple[Column, ...] = ()  # create_table / add_column
    phase: str = UPGRADE  # "upgrade", "downgrade", or "" (another function, module level)
    revision: str | None = None
    inline: bool = False  # part of a create_table / add_column, not its own op call
    constraint_type: str | None = None  # drop_constraint type_=
    schema: str | None = None  # schema= of the op call


@dataclass(frozen=True)
class OrmModel:
    models: tuple[Model, ...]
    migrations: tuple[MigrationOp, ...]
    notes: tuple[str, ...] = ()
    tables: tuple[TableDef, ...] = ()
    # Schema state after every upgrade, in revision order (drops applied).
    migration_indexes: tuple[Index, ...] = ()
    migration_foreign_keys: tuple[ForeignKey, ...] = ()
    migration_primary_keys: tuple[tuple[str, tuple[str, ...]], ...] = ()

    # -- models ------------------------------------------------------------------------------
    @cached_property
    def _by_qualname(self) -> dict[str, Model]:
        return {m.qualname: m for m in self.models}

    def model(self, name_or_qualname: str) -> Model | None:
        """By qualname ("app.models:User"), dotted path ("app.models.User", any suffix of the
        module path) or class name; None when unknown or ambiguous."""
        key = name_or_qualname
        if ":" in key:
            return self._by_qualname.get(key)
        if "." in key:
            found = [m for m in self.models
                     if (dotted := m.qualname.replace(":", ".")) == key or dotted.endswith("." + key)]
            return found[0] if len(found) == 1 else None
        named = self.models_named(key)
        return named[0] if len(named) == 1 else None

    @cached_property
    def _by_name(self) -> dict[str, tuple[Model, ...]]:
        return _group_by(self.models, lambda m: m.name)

    @cached_property
    def _by_table(self) -> dict[str, tuple[Model, ...]]:
        return _group_by(self.models, lambda m: m.table)

    def models_named(self, class_name: str) -> tuple[Model, ...]:
        return self._by_name.get(class_name, ())

    def models_for_table(self, table: str) -> tuple[Model, ...]:
        return self._by_table.get(table, ())

    def relationship_of(self, model: Model | str, attribute: str) -> Relationship | None:
        """A relationship of the model, or inherited from its mapped parents."""
        current = self.model(model) if isinstance(model, str) else model
        seen: set[str] = set()
        while current is not None and current.qualname not in seen:
            seen.add(current.qualname)
            rel = current.relationship(attribute)
            if rel is not None:
                return rel
            current = self._by_qualname.get(current.parent) if current.parent else None
        return None

    # -- schema --------------------------------------------------------------------------------
    def table_names(self) -> set[str]:
        names = {m.table for m in self.models if m.table}
        names.update(t.table for t in self.tables if t.table)
        names.update(op.table for op in self.migrations if op.table and op.kind == "create_table")
        return names

    def foreign_keys(self) -> tuple[ForeignKey, ...]:
        """Every foreign key declared by models and Core tables, then those the migrations
        leave after all upgrades (created inline or with create_foreign_key, not dropped)."""
        found: list[ForeignKey] = []
        for model in self.models:
            found.extend(model.foreign_keys)
        for table in self.tables:
            found.extend(table.foreign_keys)
        found.extend(self.migration_foreign_keys)
        return tuple(found)

    def indexes(self, table: str) -> tuple[Index, ...]:
        """Indexes of a table from models, Core tables and the migrations' final state."""
        found: list[Index] = []
        for model in self.models:
            if model.table == table:
                found.extend(model.indexes)
        for core in self.tables:
            if core.table == table:
                found.extend(core.indexes)
        found.extend(i for i in self.migration_indexes if i.table == table)
        return tuple(found)

    def primary_keys(self, table: str) -> tuple[tuple[str, ...], ...]:
        found = [m.primary_key for m in self.models if m.table == table and m.primary_key]
        found.extend(t.primary_key for t in self.tables if t.table == table and t.primary_key)
        found.extend(cols for name, cols in self.migration_primary_keys if name == table and cols)
        return tuple(found)

    def indexed_columns(self, table: str, leading_only: bool = True) -> set[str]:
        """Columns with an index, merged from models, Core tables, migrations and primary keys.

        By default a column counts when it leads an index (or the primary key): an index on
        (a, b) serves lookups on a, not on b. leading_only=False counts every indexed column.
        """
        columns: set[str] = set()
        groups = [i.columns for i in self.indexes(table)] + list(self.primary_keys(table))
        for cols in groups:
            if cols:
                columns.update(cols[:1] if leading_only else cols)
        return columns

    def is_indexed(self, table: str, column: str) -> bool:
        return column in self.indexed_columns(table)


def _group_by(models: tuple[Model, ...], key) -> dict:
    """key -> the models with it, in model order (a lookup asked per query and column)."""
    groups: dict = {}
    for model in models:
        groups.setdefault(key(model), []).append(model)
    return {value: tuple(found) for value, found in groups.items()}
