"""ORM models and Alembic migration operations, from module facts.

Models are classes whose bases lead to a declarative root: a subclass of
`sqlalchemy.orm.DeclarativeBase`, an `@as_declarative()` class, the result of
`declarative_base()` / `registry().generate_base()` assigned at module level, `db.Model` of a
Flask-SQLAlchemy `db = SQLAlchemy()`, or `sqlmodel.SQLModel` with `table=True`. Project base
classes are followed across modules by name (and through re-exports); mixins and abstract
bases lend their columns to the models built on them. Core `Table(...)` definitions in
application code are read too, since association tables carry foreign keys and indexes.

Migration operations come from `alembic.op.*` calls (and `batch_op.*` inside
`with op.batch_alter_table(...)`, and CREATE/DROP INDEX in `op.execute("...")`) in files of
kind "migration" or any file with `revision`, `down_revision` and `alembic.op` calls, ordered
by the revision chain. A create_table also yields its inline primary key, unique, index and
foreign key operations (inline=True). Operations of `downgrade()` are kept but do not count
towards the final schema state (drops applied in revision order) that `indexed_columns()` and
`foreign_keys()` report.

Whatever is not a literal (or a module constant) is "unknown" (None) rather than guessed. A
class or a migration call that cannot be read is skipped with a note; nothing here raises on
odd code, except under PRODAUDIT_STRICT, where our own bugs must surface.

`build_orm(project)` is a pure function of the module summaries (no syntax trees, no file
reads), cheap enough to build once per audit and keep.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

from prodaudit.errors import strict_mode
from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, CallFact, ClassFact, ModuleSummary
from prodaudit.model.resolve import ImportTable
from prodaudit.model.values import Value

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

    def models_named(self, class_name: str) -> tuple[Model, ...]:
        return tuple(m for m in self.models if m.name == class_name)

    def models_for_table(self, table: str) -> tuple[Model, ...]:
        return tuple(m for m in self.models if m.table == table)

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


# -- annotations ----------------------------------------------------------------------------
@dataclass
class _Ann:
    """The shape of a type annotation: Mapped[list["Favorite"]], Optional[str], "User"."""

    base: str | None = None  # the scalar type as written ("str", "Favorite")
    resolved: str | None = None  # its dotted name through imports, when known
    optional: bool | None = False
    collection: str | None = None
    wrapper: str | None = None  # "Mapped", "WriteOnlyMapped", "DynamicMapped"; None if bare
    is_none: bool = False
    classvar: bool = False

    @property
    def known(self) -> bool:
        return self.base is not None


def _tail(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


_SUBSCRIPT_TEXT = re.compile(r"^([\w.]+)\s*\[(.*)\]$", re.DOTALL)
_DOTTED = re.compile(r"^[A-Za-z_][\w.]*$")


class _Annotations:
    def __init__(self, imports: ImportTable):
        self.imports = imports

    def of(self, value: Value | None) -> _Ann | None:
        if value is None:
            return None
        if value.kind == "subscript" and _tail(value.name or value.text) in MAPPED_WRAPPERS and value.items:
            inner = self.shape(value.items[0])
            inner.wrapper = _tail(value.name or value.text)
            return inner
        if value.kind == "const" and isinstance(value.const, str):
            return self.text_shape(value.const, top=True)
        shape = self.shape(value)
        if (value.kind == "subscript" and _tail(value.name or value.text) == "ClassVar") or (
                value.kind in ("name", "attr") and _tail(value.name) == "ClassVar"):
            shape.classvar = True
        return shape

    def shape(self, value: Value) -> _Ann:
        if value.kind == "const":
            if value.const is None:
                return _Ann(is_none=True)
            if isinstance(value.const, str):
                return self.text_shape(value.const)
            return _Ann(optional=None)
        if value.kind in ("name", "attr"):
            if value.text == "None":
                return _Ann(is_none=True)
            return _Ann(base=value.text, resolved=value.name or value.text)
        if value.kind == "subscript":
            tail = _tail(value.name or value.text.split("[")[0])
            if tail == "Optional" and value.items:
                inner = self.shape(value.items[0])
                inner.optional = True if inner.known or inner.optional is not None else None
                return inner
            if tail == "Union":
                return self.union([self.shape(i) for i in value.items])
            if tail == "Annotated" and value.items:
                return self.shape(value.items[0])
            if tail in COLLECTIONS and value.items:
                inner = self.shape(value.items[0])
                return _Ann(base=inner.base, resolved=inner.resolved, collection=tail.lower())
            if tail in MAPPED_WRAPPERS and value.items:
                inner = self.shape(value.items[0])
                inner.wrapper = tail
                return inner
            if tail == "ClassVar":
                return _Ann(classvar=True, optional=None)
            return _Ann(base=tail, resolved=value.name or tail)  # dict[str, Any] and friends
        if value.kind == "binop" and value.name == "BitOr":
            return self.union(self.flatten(value))
        return _Ann(optional=None)

    def flatten(self, value: Value) -> list[_Ann]:
        if value.kind == "binop" and value.name == "BitOr":
            return [a for item in value.items for a in self.flatten(item)]
        return [self.shape(value)]

    @staticmethod
    def union(parts: list[_Ann]) -> _Ann:
        nones = [p for p in parts if p.is_none]
        others = [p for p in parts if not p.is_none]
        if len(others) == 1:
            only = others[0]
            if nones:
                only.optional = True if only.known else None
            return only
        return _Ann(optional=True if nones else None)

    def text_shape(self, text: str, top: bool = False) -> _Ann:
        """A string annotation ("User", "list[Favorite]", "User | None"), read without parsing
        the module: names resolve through the module's imports."""
        text = text.strip().strip("'\"").strip()
        if not text:
            return _Ann(optional=None)
        parts = _split_top(text, "|")
        if len(parts) > 1:
            return self.union([self.text_shape(p) for p in parts])
        if text == "None":
            return _Ann(is_none=True)
        match = _SUBSCRIPT_TEXT.match(text)
        if match:
            head, inner_text = match.group(1), match.group(2)
            tail = _tail(head)
            args = _split_top(inner_text, ",")
            if tail in MAPPED_WRAPPERS and top:
                inner = self.text_shape(args[0])
                inner.wrapper = tail
                return inner
            if tail == "Optional":
                inner = self.text_shape(args[0])
                inner.optional = True if inner.known else None
                return inner
            if tail == "Union":
                return self.union([self.text_shape(a) for a in args])
            if tail == "Annotated":
                return self.text_shape(args[0])
            if tail in COLLECTIONS:
                inner = self.text_shape(args[0])
                return _Ann(base=inner.base, resolved=inner.resolved, collection=tail.lower())
            return _Ann(base=tail, resolved=self.imports.resolve(head))
        if _DOTTED.match(text):
            return _Ann(base=text, resolved=self.imports.resolve(text))
        return _Ann(optional=None)


# -- small readers ---------------------------------------------------------------------------
def _callee_is(value: Value | None, tails: Iterable[str]) -> bool:
    if value is None or value.kind != "call":
        return False
    name = value.name or value.text
    if _tail(name) not in tails:
        return False
    return name.split(".", 1)[0] not in FOREIGN_HEADS


def _const_str(value: Value | None) -> str | None:
    if value is not None and value.kind == "const" and isinstance(value.const, str):
        return value.const
    return None


def _const_bool(value: Value | None) -> bool | None:
    if value is not None and value.kind == "const" and isinstance(value.const, bool):
        return value.const
    return None


def _unwrap_name(value: Value | None) -> str | None:
    """A name argument: "ix_users_email", op.f("ix_users_email"), sa.text("...")."""
    if value is None:
        return None
    if value.kind == "call" and _tail(value.name or value.text) in ("f", "conv", "quoted_name", "text") and value.items:
        return _const_str(value.items[0])
    return _const_str(value)


def _name_list(value: Value | None) -> tuple[str, ...]:
    """["a", "b"] / ("a",) / "a" -> column names; expressions kept as their source text."""
    if value is None:
        return ()
    items = value.items if value.kind in ("list", "tuple", "set") else (value,)
    names = []
    for item in items:
        text = _const_str(item)
        if text is None and item.kind == "call" and _tail(item.name or item.text) == "text" and item.items:
            text = _const_str(item.items[0])
        names.append(text if text is not None else item.text)
    return tuple(names)


def _arg(value: Value | CallFact, index: int, keyword: str) -> Value | None:
    found = value.keyword(keyword)
    if found is not None:
        return found
    items = value.args if isinstance(value, CallFact) else value.items
    return items[index] if index < len(items) else None


def _lazy(value: Value, project=None, module: ModuleSummary | None = None) -> str | None:
    if value.kind == "const" and (value.const is None or isinstance(value.const, bool)):
        return LAZY_CONSTANTS[value.const]
    return _literal_str(value, project, module)


def _literal_str(value: Value | None, project=None, module: ModuleSummary | None = None) -> str | None:
    """A string literal, or a module constant holding one (LAZY = "selectin")."""
    text = _const_str(value)
    if text is None and value is not None and value.kind in ("name", "attr") and project is not None:
        resolved = project.constant(value, module)
        text = resolved if isinstance(resolved, str) else None
    return text


def _timezone(type_name: str | None, type_value: Value | None) -> bool | None:
    if type_name not in TIMEZONE_TYPES:
        return None
    if type_value is None or type_value.kind in ("name", "attr"):
        return False  # the type class itself, or derived from a datetime annotation
    if type_value.kind == "call":
        flag = type_value.keyword("timezone")
        if flag is None:
            flag = type_value.arg(0)
            if flag is None:
                return False
        return _const_bool(flag)
    return None


def _camel_to_snake(name: str) -> str:
    """Flask-SQLAlchemy's table name for a model without __tablename__."""
    name = re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name)
    return name.lower().lstrip("_")


def _fk_parts(value: Value) -> tuple[Value | None, str | None]:
    """ForeignKey("users.id", ondelete="CASCADE") -> (the target value, ondelete)."""
    target = _arg(value, 0, "column")
    return target, _const_str(value.keyword("ondelete"))


# -- the builder -----------------------------------------------------------------------------
@dataclass(eq=False)  # compared by identity
class _Root:
    kind: str  # declarative, sqlmodel
    style: str  # style of models when their own columns do not tell
    flask: bool = False
    type_map: Value | None = None
    extra_base: _Cls | None = None  # declarative_base(cls=CustomBase)


@dataclass(eq=False)  # compared by identity
class _Cls:
    module: ModuleSummary
    fact: ClassFact
    key: str
    parents: list[_Cls] = field(default_factory=list)
    root: _Root | None = None
    is_root: bool = False
    assigns: list[AssignFact] = field(default_factory=list)


@dataclass(eq=False)  # compared by identity
class _Draft:
    cls: _Cls
    table: str | None
    style: str
    columns: list[Column] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    indexes: list[Index] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    parent: str | None = None
    schema: str | None = None
    # (column attribute, target value, module) for ForeignKey(Model.attr) to resolve later
    pending_fks: list[tuple[str, Value, ModuleSummary]] = field(default_factory=list)
    # relationship attribute -> (module, target as written, dotted name) to resolve later
    pending_targets: dict[str, tuple[ModuleSummary, str, str | None]] = field(default_factory=dict)


class _Builder:
    def __init__(self, project, kinds: tuple[str, ...]):
        self.project = project
        self.notes: list[str] = []
        self.sources = [m for m in project.summaries(*kinds) if m.problem is None]
        # Alembic revisions: files of kind "migration", and revision files discovery took for
        # source because their folder has another name (src/app/db/revisions/versions/...).
        self.migrations_src = [m for m in project.summaries("migration", *kinds)
                               if m.problem is None and (m.kind == "migration" or _is_revision(m))]
        self.classes: dict[str, _Cls] = {}
        self.assigns_by_scope: dict[str, dict[str, list[AssignFact]]] = {}
        self.imports: dict[str, ImportTable] = {}
        self.drafts: dict[str, _Draft] = {}
        self.tables: list[TableDef] = []
        self._resolving: set[str] = set()
        self._root_cache: dict[tuple[str, str], _Root | _Cls | None] = {}
        # one _Root per declaring assignment, so models of the same Base share it
        self._roots: dict[tuple[str, str, int], _Root] = {}

    # -- symbols -------------------------------------------------------------------------------
    def import_table(self, module: ModuleSummary) -> ImportTable:
        table = self.imports.get(module.path)
        if table is None:
            table = self.imports[module.path] = ImportTable(list(module.imports), module.module)
        return table

    def scoped(self, module: ModuleSummary, scope: str) -> list[AssignFact]:
        by_scope = self.assigns_by_scope.get(module.path)
        if by_scope is None:
            by_scope = self.assigns_by_scope[module.path] = {}
            for fact in module.assignments:
                by_scope.setdefault(fact.scope, []).append(fact)
        return by_scope.get(scope, [])

    def module_assign(self, module: ModuleSummary, name: str) -> AssignFact | None:
        found = None
        for fact in self.scoped(module, ""):
            if fact.target == name:
                found = fact
        return found

    def find(self, module: ModuleSummary, dotted: str) -> tuple[ModuleSummary, ClassFact | AssignFact] | None:
        """The class or module-level assignment a (resolved) name refers to."""
        for cls in module.classes:
            if cls.qualname == dotted:
                return module, cls
        if "." not in dotted:
            assign = self.module_assign(module, dotted)
            if assign is not None:
                return module, assign
            for imp in module.imports:  # `from app.db.base import *`
                if imp.local == "*" and not imp.in_function:
                    found = self.find_global(f"{imp.target}.{dotted}")
                    if found is not None:
                        return found
            return None
        return self.find_global(dotted)

    def find_global(self, dotted: str) -> tuple[ModuleSummary, ClassFact | AssignFact] | None:
        try:
            found = self.project.resolve_symbol(dotted)
        except Exception:  # a malformed name must not stop the model
            if strict_mode():
                raise
            return None
        if found is None:
            return None
        module, rest = found
        for cls in module.classes:
            if cls.qualname == rest:
                return module, cls
        assign = self.module_assign(module, rest) if "." not in rest else None
        return (module, assign) if assign is not None else None

    def class_info(self, module: ModuleSummary, fact: ClassFact) -> _Cls:
        key = f"{module.module}:{fact.qualname}"
        info = self.classes.get(key)
        if info is not None:
            return info
        info = self.classes[key] = _Cls(module, fact, key)
        info.assigns = self.scoped(module, fact.qualname)
        self._resolving.add(key)
        for deco in fact.decorators:
            if _tail(deco.name or deco.text) == "as_declarative" and _head_ok(deco.name or deco.text):
                info.is_root = True
                info.root = _Root("declarative", "declarative-1.x", type_map=self.type_map(info))
        for base in fact.bases:
            found = self.base_of(module, base)
            if isinstance(found, _Cls):
                info.parents.append(found)
                if info.root is None and found.root is not None:
                    info.root = found.root
            elif isinstance(found, _Root):
                if found.kind == "declarative" and found is _DECLARATIVE_BASE:
                    info.is_root = True
                    found = _Root("declarative", "declarative-2.0", type_map=self.type_map(info))
                if info.root is None:
                    info.root = found
                if found.extra_base is not None:
                    info.parents.append(found.extra_base)
        self._resolving.discard(key)
        return info

    def type_map(self, info: _Cls) -> Value | None:
        for fact in info.assigns:
            if fact.target == "type_annotation_map" and fact.value is not None and fact.value.kind == "dict":
                return fact.value
        return None

    def base_of(self, module: ModuleSummary, base: Value, depth: int = 0) -> _Root | _Cls | None:
        name = base.name or base.text
        if base.kind not in ("name", "attr") or depth > 6:
            return None
        if name in DECLARATIVE_BASE_CLASSES:
            return _DECLARATIVE_BASE
        if name in SQLMODEL_BASES:
            return _SQLMODEL
        cache_key = (module.path, name)
        if cache_key in self._root_cache:
            return self._root_cache[cache_key]
        found = self.find(module, name)
        result: _Root | _Cls | None = None
        if found is not None:
            target_module, target = found
            if isinstance(target, ClassFact):
                key = f"{target_module.module}:{target.qualname}"
                if key not in self._resolving:
                    result = self.class_info(target_module, target)
            else:
                result = self.root_from_assignment(target_module, target, depth)
        elif _tail(name) == "Model" and "." in name:
            # Flask-SQLAlchemy: `db.Model` where `db = SQLAlchemy()`
            owner = self.find(module, name.rsplit(".", 1)[0])
            if owner is not None and isinstance(owner[1], AssignFact):
                value = owner[1].value
                if value is not None and value.kind == "call" and value.name in FLASK_SQLALCHEMY:
                    where = (owner[0].path, owner[1].target, owner[1].line)
                    result = self._roots.setdefault(where, _Root("declarative", "declarative-1.x",
                                                                 flask=True))
        self._root_cache[cache_key] = result
        return result

    def root_from_assignment(self, module: ModuleSummary, fact: AssignFact, depth: int) -> _Root | _Cls | None:
        value = fact.value
        if value is None:
            return None
        if value.kind == "call":
            name = value.name or value.text
            if name in DECLARATIVE_FACTORIES or (_tail(name) == "generate_base" and _head_ok(name)):
                where = (module.path, fact.target, fact.line)
                if where in self._roots:
                    return self._roots[where]
                root = self._roots[where] = _Root("declarative", "declarative-1.x")
                custom = value.keyword("cls")
                if custom is not None:
                    found = self.base_of(module, custom, depth + 1)
                    if isinstance(found, _Cls):
                        root.extra_base = found
                return root
            return None
        if value.kind in ("name", "attr"):  # Base = _Base
            return self.base_of(module, value, depth + 1)
        return None

    # -- models ----------------------------------------------------------------------------------
    def ancestors(self, info: _Cls) -> list[_Cls]:
        """Project base classes, nearest first, roughly in method resolution order."""
        order: list[_Cls] = []

        def visit(cls: _Cls, depth: int) -> None:
            if depth > 20:
                return
            for parent in cls.parents:
                if parent in order:
                    order.remove(parent)
                order.append(parent)
                visit(parent, depth + 1)

        visit(info, 0)
        # keep-last DFS: shared bases move after the branches that use them
        return order

    def is_abstract(self, info: _Cls) -> bool:
        for fact in info.assigns:
            if fact.target == "__abstract__":
                return _const_bool(fact.value) is True
        return False

    def is_model(self, info: _Cls) -> bool:
        if info.root is None or info.is_root:
            return False
        if info.root.kind == "sqlmodel":
            for key, value in info.fact.keywords:
                if key == "table":
                    return _const_bool(value) is True
            return False
        return not self.is_abstract(info)

    def build_models(self) -> None:
        for module in self.sources:
            for fact in module.classes:
                try:
                    info = self.class_info(module, fact)
                    if self.is_model(info):
                        self.drafts[info.key] = self.draft(info)
                        if self.drafts[info.key].table is None and not self.mapped_parent(info):
                            self.notes.append(f"{module.path}:{fact.line}: table name of model "
                                              f"{fact.qualname} is not a literal; unknown")
                except Exception as exc:  # odd code: skip the class, say so
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{module.path}:{fact.line}: class {fact.qualname} not read "
                                      f"({exc.__class__.__name__}: {exc})")
        # Second pass, once every model and its columns are known: inherited tables, then
        # ForeignKey(Model.attr) references, then table-level constraints.
        for step in (self.inherit, self.resolve_pending, self.table_level):
            for draft in list(self.drafts.values()):
                try:
                    step(draft)
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{draft.cls.module.path}:{draft.cls.fact.line}: "
                                      f"{draft.cls.fact.qualname} partly read "
                                      f"({step.__name__}: {exc.__class__.__name__})")

    def own_tablename(self, info: _Cls) -> tuple[bool, str | None]:
        """(declared here?, the name when known)."""
        table_call = self.own_table_call(info)
        if table_call is not None:
            return True, self.table_name_of(info.module, table_call.arg(0))
        for fact in reversed(info.assigns):
            if fact.target == "__tablename__":
                text = _const_str(fact.value)
                if text is None and fact.value is not None:
                    resolved = self.project.constant(fact.value, info.module)
                    text = resolved if isinstance(resolved, str) else None
                return True, text
        if "__tablename__" in info.fact.methods:
            return True, self.derived_tablename(info, info)
        return False, None

    def own_table_call(self, info: _Cls) -> Value | None:
        """`__table__ = Table("users", metadata, Column(...))` in the class body."""
        for fact in reversed(info.assigns):
            if fact.target == "__table__" and fact.value is not None and self.is_table_call(fact.value):
                return fact.value
        return None

    def derived_tablename(self, owner: _Cls, model: _Cls) -> str | None:
        """A `@declared_attr def __tablename__(cls)` returning cls.__name__.lower() & co."""
        fn = owner.module.function(f"{owner.fact.qualname}.__tablename__")
        if fn is None or len(fn.return_values) != 1 or fn.return_values[0] is None:
            return None
        return _eval_name_expr(fn.return_values[0], model.fact.name)

    def draft(self, info: _Cls) -> _Draft:
        root = info.root
        assert root is not None
        sqlmodel = root.kind == "sqlmodel"
        declared, table = self.own_tablename(info)
        ancestors = self.ancestors(info)
        if not declared:
            if sqlmodel:
                table = info.fact.name.lower()
            else:
                table = None
                for anc in ancestors:
                    if self.is_model(anc):
                        continue  # a mapped parent: inherit() decides (single-table inheritance)
                    has, name = self.own_tablename(anc)
                    if has:
                        derived_here = "__tablename__" in anc.fact.methods
                        table = self.derived_tablename(anc, info) if derived_here else name
                        break
                else:
                    if root.flask:
                        table = _camel_to_snake(info.fact.name)
        draft = _Draft(info, table, "sqlmodel" if sqlmodel else root.style)
        annotations = _Annotations(self.import_table(info.module))
        # Columns of mixins and abstract bases first (farthest first), then the class's own.
        sources = [*reversed(self.unmapped_ancestors(info, ancestors)), info]
        if sqlmodel:
            sources = [*reversed(ancestors), info]
        seen: dict[str, int] = {}
        for owner in sources:
            owner_ann = annotations if owner is info else _Annotations(self.import_table(owner.module))
            for attribute, value, annotation, line in self.members(owner):
                try:
                    kind, item = self.member(draft, owner, owner_ann, attribute, value, annotation, line)
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{owner.module.path}:{line}: {owner.fact.qualname}.{attribute} "
                                      f"not read ({exc.__class__.__name__})")
                    continue
                if kind is None:
                    continue
                if kind == "column":
                    if attribute in seen:
                        draft.columns[seen[attribute]] = item
                    else:
                        seen[attribute] = len(draft.columns)
                        draft.columns.append(item)
                else:
                    draft.relationships = [r for r in draft.relationships if r.attribute != attribute]
                    draft.relationships.append(item)
        table_call = self.own_table_call(info)
        if table_call is not None:
            columns, indexes, fks, pk = self.core_parts(info.module, table, table_call.items[1:], info.key)
            draft.columns[:0] = columns
            draft.indexes.extend(indexes)
            draft.foreign_keys.extend(fks)
            draft.primary_key.extend(pk)
            draft.style = "declarative-1.x"
            return draft
        if not sqlmodel:
            styles = {self.style_of(owner) for owner in sources} - {None}
            if "declarative-2.0" in styles:
                draft.style = "declarative-2.0"
            elif styles:
                draft.style = "declarative-1.x"
        return draft

    @staticmethod
    def style_of(owner: _Cls) -> str | None:
        """2.0 when the class body uses Mapped[] or mapped_column(), 1.x for bare Column()."""
        style = None
        for fact in owner.assigns:
            if (fact.annotation is not None and fact.annotation.kind == "subscript"
                    and _tail(fact.annotation.name or fact.annotation.text) in MAPPED_WRAPPERS):
                return "declarative-2.0"
            if _callee_is(fact.value, {"mapped_column"}):
                return "declarative-2.0"
            if _callee_is(fact.value, COLUMN_CALLS | RELATIONSHIP_CALLS):
                style = "declarative-1.x"
        return style

    def mapped_parent(self, info: _Cls) -> bool:
        return any(self.is_model(a) for a in self.ancestors(info))

    def unmapped_ancestors(self, info: _Cls, ancestors: list[_Cls]) -> list[_Cls]:
        """Mixins and abstract bases whose columns this class maps itself: not the mapped
        parents, nor what those parents already brought in."""
        behind_mapped: set[str] = set()
        for anc in ancestors:
            if self.is_model(anc):
                behind_mapped.add(anc.key)
                behind_mapped.update(a.key for a in self.ancestors(anc))
        return [a for a in ancestors if a.key not in behind_mapped]

    def members(self, owner: _Cls):
        """(attribute, value, annotation, line) of a class body, plus declared_attr methods."""
        for fact in owner.assigns:
            if "." in fact.target or fact.augmented:
                continue
            yield fact.target, fact.value, fact.annotation, fact.line
        for method in owner.fact.methods:
            fn = owner.module.function(f"{owner.fact.qualname}.{method}")
            if fn is None or method.startswith("__"):
                continue
            if any(_tail((d.name or d.text).split(".directive")[0].split(".cascading")[0]) == "declared_attr"
                   for d in fn.decorators) and len(fn.return_values) == 1:
                yield method, fn.return_values[0], fn.returns, fn.line

    def member(self, draft: _Draft, owner: _Cls, annotations: _Annotations, attribute: str,
               value: Value | None, annotation: Value | None, line: int):
        """("column" | "relationship" | None, the record)."""
        if attribute.startswith("__"):
            return None, None
        location = Location(owner.module.path, line)
        ann = annotations.of(annotation)
        if ann is not None and ann.classvar:
            return None, None
        if _callee_is(value, WRAPPER_CALLS) and value.items and _callee_is(value.items[0], COLUMN_CALLS):
            value = value.items[0]  # deferred(Column(...))
        if draft.style == "sqlmodel":
            if attribute.startswith("_") or annotation is None:
                return None, None  # pydantic private attributes and plain class attributes
            if _callee_is(value, {"Relationship"}):
                return "relationship", self.sqlmodel_relationship(draft, owner, attribute, value, ann, location)
            return "column", self.sqlmodel_column(draft, owner, attribute, value, ann, location)
        if ann is not None and ann.wrapper is not None and (value is None or _callee_is(value, {"mapped_column"})):
            ann, value = self.expand_alias(owner.module, ann, value)
        if _callee_is(value, COLUMN_CALLS):
            return "column", self.column(draft, owner.module, attribute, value, ann, location)
        if _callee_is(value, RELATIONSHIP_CALLS):
            return "relationship", self.relationship(draft, owner, attribute, value, ann, location)
        if value is None and ann is not None and ann.wrapper is not None:
            if ann.collection or (ann.base and self.model_key(owner.module, ann) is not None):
                self.notes.append(f"{owner.module.path}:{line}: {owner.fact.qualname}.{attribute} "
                                  "is annotated with a mapped class but has no relationship()")
                return None, None
            return "column", self.column(draft, owner.module, attribute, None, ann, location)
        return None, None

    def expand_alias(self, module: ModuleSummary, ann: _Ann, value: Value | None) -> tuple[_Ann, Value | None]:
        """Mapped[intpk] with `intpk = Annotated[int, mapped_column(primary_key=True)]`: the type
        inside, and the alias's mapped_column() arguments under the ones written here.
        `MaybeStr = str | None` reads as its type; other aliases (NewType, ...) are unknown."""
        name = ann.resolved or ann.base
        if not name or name in ANNOTATION_TYPES or ann.collection:
            return ann, value
        found = self.find(module, name)
        if found is None or not isinstance(found[1], AssignFact) or found[1].value is None:
            return ann, value
        alias_module, alias = found[0], found[1].value
        shapes = _Annotations(self.import_table(alias_module))
        if alias.kind != "subscript" or _tail(alias.name or alias.text) != "Annotated" or not alias.items:
            if alias.kind in ("subscript", "binop", "name", "attr"):
                inner = shapes.shape(alias)
                if inner.known and not inner.collection:
                    inner.wrapper = ann.wrapper
                    inner.optional = True if ann.optional else inner.optional
                    return inner, value
            return _Ann(optional=None, wrapper=ann.wrapper), value
        inner = shapes.shape(alias.items[0])
        inner.wrapper = ann.wrapper
        if ann.optional:
            inner.optional = True
        extra = next((i for i in alias.items[1:] if _callee_is(i, {"mapped_column"})), None)
        if extra is not None:
            if value is None:
                value = extra
            else:
                value = replace(value, items=value.items or extra.items,
                                keywords=value.keywords + extra.keywords)  # written ones first
        return inner, value

    # -- columns ---------------------------------------------------------------------------------
    def column(self, draft: _Draft | None, module: ModuleSummary, attribute: str, call: Value | None,
               ann: _Ann | None, location: Location, style: str = "declarative") -> Column:
        name = attribute
        type_value: Value | None = None
        type_name: str | None = None
        foreign_key: str | None = None
        ondelete: str | None = None
        has_fk = False
        items = list(call.items) if call is not None else []
        if items and _const_str(items[0]) is not None:
            name = _const_str(items[0]) or name
            items = items[1:]
        for item in items:
            tail = _tail(item.name or item.text) if item.kind in ("call", "name", "attr") else ""
            if item.kind == "call" and tail == "ForeignKey":
                has_fk = True
                target, ondelete = _fk_parts(item)
                foreign_key = self.fk_text(draft, attribute, target, module)
            elif tail in SCHEMA_ITEMS:
                continue
            elif type_value is None and item.kind in ("call", "name", "attr", "subscript", "other"):
                type_value = item
        if call is not None:
            explicit_name = _const_str(call.keyword("name"))
            if explicit_name:
                name = explicit_name
            if call.keyword("type_") is not None:
                type_value = call.keyword("type_")
        if type_value is not None:
            type_name = _tail(type_value.name or type_value.text.split("(")[0]) if type_value.kind != "other" else None
        elif ann is not None and ann.known and not ann.collection:
            type_value, type_name = self.annotation_type(draft, module, ann)
        if type_name is None and type_value is None and has_fk:
            type_name = "ForeignKey"
        primary_key = _const_bool(call.keyword("primary_key")) is True if call is not None else False
        explicit_nullable = call.keyword("nullable") if call is not None else None
        if explicit_nullable is not None:
            nullable = _const_bool(explicit_nullable)
        elif primary_key:
            nullable = False
        elif call is None or _tail(call.name or call.text) == "mapped_column":
            # 2.0: Mapped[str] is NOT NULL, Mapped[str | None] is nullable
            if ann is None or ann.wrapper is None:
                nullable = True
            else:
                nullable = ann.optional
        else:
            nullable = True
        index = _const_bool(call.keyword("index")) is True if call is not None else False
        unique = _const_bool(call.keyword("unique")) is True if call is not None else False
        return Column(name=name, attribute=attribute if style == "declarative" else "",
                      type_name=type_name, nullable=nullable, primary_key=primary_key, index=index,
                      unique=unique, foreign_key=foreign_key, ondelete=ondelete,
                      timezone=_timezone(type_name, type_value), location=location)

    def annotation_type(self, draft: _Draft | None, module: ModuleSummary, ann: _Ann,
                        sqlmodel: bool = False) -> tuple[Value | None, str | None]:
        root = draft.cls.root if draft is not None else None
        if root is not None and root.type_map is not None:
            for key, mapped in root.type_map.keywords:
                if ann.base and (key == ann.base or _tail(key) == _tail(ann.base)):
                    if mapped.kind in ("call", "name", "attr"):
                        return mapped, _tail(mapped.name or mapped.text.split("(")[0])
                    return None, None
        resolved = ann.resolved or ann.base or ""
        table = SQLMODEL_TYPES if sqlmodel else ANNOTATION_TYPES
        if resolved in table:
            return None, table[resolved]
        if self.is_enum(module, resolved):
            return None, "Enum"
        return None, None

    def is_enum(self, module: ModuleSummary, dotted: str) -> bool:
        if not dotted:
            return False
        found = self.find(module, dotted)
        if found is None or not isinstance(found[1], ClassFact):
            return False
        return any((b.name or b.text).startswith("enum.") for b in found[1].bases)

    def fk_text(self, draft: _Draft | None, attribute: str, target: Value | None,
                module: ModuleSummary) -> str | None:
        if target is None:
            return None
        text = _const_str(target)
        if text is not None:
            return text
        if target.kind == "attr" and draft is not None:
            draft.pending_fks.append((attribute, target, module))
        return None

    def sqlmodel_column(self, draft: _Draft, owner: _Cls, attribute: str, value: Value | None,
                        ann: _Ann | None, location: Location) -> Column:
        field_call = value if _callee_is(value, {"Field"}) else None
        if field_call is not None:
            sa_column = field_call.keyword("sa_column")
            if _callee_is(sa_column, {"Column"}):
                return self.column(draft, owner.module, attribute, sa_column, None, location)
        get = field_call.keyword if field_call is not None else (lambda _key: None)
        primary_key = _const_bool(get("primary_key")) is True
        if get("nullable") is not None:
            nullable = _const_bool(get("nullable"))
        elif primary_key:
            nullable = False
        elif ann is None or not ann.known:
            nullable = None
        else:
            nullable = bool(ann.optional)
        type_value = get("sa_type")
        if type_value is not None:
            type_name = _tail(type_value.name or type_value.text.split("(")[0]) if type_value.kind != "other" else None
        elif ann is not None and ann.known:
            _, type_name = self.annotation_type(None, owner.module, ann, sqlmodel=True)
        else:
            type_name = None
        foreign_key = _const_str(get("foreign_key"))
        if get("foreign_key") is not None and foreign_key is None:
            foreign_key = self.fk_text(draft, attribute, get("foreign_key"), owner.module)
        name = _const_str(get("sa_column_kwargs").keyword("name")) if get("sa_column_kwargs") is not None else None
        return Column(name=name or attribute, attribute=attribute, type_name=type_name, nullable=nullable,
                      primary_key=primary_key, index=_const_bool(get("index")) is True,
                      unique=_const_bool(get("unique")) is True, foreign_key=foreign_key,
                      ondelete=_const_str(get("ondelete")), timezone=_timezone(type_name, type_value),
                      location=location)

    # -- relationships -------------------------------------------------------------------------
    def relationship(self, draft: _Draft, owner: _Cls, attribute: str, call: Value, ann: _Ann | None,
                     location: Location) -> Relationship:
        first = _arg(call, 0, "argument")
        target, resolved = self.target_of(first, ann)
        lazy: str | None = "select"
        if ann is not None and ann.wrapper in ("WriteOnlyMapped", "DynamicMapped"):
            lazy = MAPPED_WRAPPERS[ann.wrapper]
        if _tail(call.name or call.text) == "dynamic_loader":
            lazy = "dynamic"
        if call.keyword("lazy") is not None:
            lazy = _lazy(call.keyword("lazy"), self.project, owner.module)
        uselist = _const_bool(call.keyword("uselist"))
        if call.keyword("uselist") is None and ann is not None and ann.known:
            uselist = bool(ann.collection) or ann.wrapper in ("WriteOnlyMapped", "DynamicMapped")
        backref_value = call.keyword("backref")
        backref = _const_str(backref_value)
        if backref is None and backref_value is not None and backref_value.kind == "call" and backref_value.items:
            backref = _const_str(backref_value.items[0])
        secondary = call.keyword("secondary")
        return Relationship(
            attribute=attribute, target=target,
            target_model=self.pend_target(draft, owner.module, attribute, target, resolved),
            lazy=lazy, cascade=_literal_str(call.keyword("cascade"), self.project, owner.module),
            back_populates=_literal_str(call.keyword("back_populates"), self.project, owner.module),
            uselist=uselist,
            location=location, backref=backref,
            secondary=(_const_str(secondary) or secondary.text) if secondary is not None else None,
            passive_deletes=_const_bool(call.keyword("passive_deletes")))

    def sqlmodel_relationship(self, draft: _Draft, owner: _Cls, attribute: str, call: Value,
                              ann: _Ann | None, location: Location) -> Relationship:
        full = call.keyword("sa_relationship")
        if _callee_is(full, RELATIONSHIP_CALLS):  # Relationship(sa_relationship=relationship(...))
            return self.relationship(draft, owner, attribute, full, ann, location)
        target, resolved = self.target_of(None, ann)
        kwargs = call.keyword("sa_relationship_kwargs")
        literal = kwargs is not None and (kwargs.kind == "dict" or (
            kwargs.kind == "call" and kwargs.name == "dict" and not kwargs.items))
        options = dict(kwargs.keywords) if literal else {}
        lazy = _lazy(options["lazy"], self.project, owner.module) if "lazy" in options else "select"
        if kwargs is not None and not literal:
            lazy = None  # the options are not a literal: lazy could be anything
        cascade = "all, delete-orphan" if _const_bool(call.keyword("cascade_delete")) else None
        if "cascade" in options:
            cascade = _const_str(options["cascade"])
        uselist = _const_bool(options["uselist"]) if "uselist" in options else (
            bool(ann.collection) if ann is not None and ann.known else None)
        link = call.keyword("link_model")
        passive = call.keyword("passive_deletes")
        if "passive_deletes" in options:
            passive = options["passive_deletes"]
        return Relationship(
            attribute=attribute, target=target,
            target_model=self.pend_target(draft, owner.module, attribute, target, resolved),
            lazy=lazy, cascade=cascade, back_populates=_const_str(call.keyword("back_populates")),
            uselist=uselist, location=location,
            secondary=link.text if link is not None else None,
            passive_deletes=_const_bool(passive))

    def target_of(self, first: Value | None, ann: _Ann | None) -> tuple[str | None, str | None]:
        """(target as written, its dotted name through imports)."""
        if first is not None:
            text = _const_str(first)
            if text is not None:
                return text, None
            if first.kind in ("name", "attr"):
                return first.text, first.name
            match = re.match(r"^lambda\s*:\s*([\w.]+)$", first.text)
            if match:
                return match.group(1), None
            return None, None
        if ann is not None and ann.base:
            return ann.base, ann.resolved
        return None, None

    def model_key(self, module: ModuleSummary, ann: _Ann) -> str | None:
        if not ann.base:
            return None
        found = self.find(module, ann.resolved or ann.base)
        if found is None or not isinstance(found[1], ClassFact):
            return None
        info = self.classes.get(f"{found[0].module}:{found[1].qualname}")
        if info is None:
            info = self.class_info(found[0], found[1])
        return info.key if self.is_model(info) else None

    @staticmethod
    def pend_target(draft: _Draft, module: ModuleSummary, attribute: str, target: str | None,
                    resolved: str | None) -> None:
        """The target model is looked up once every model is known (resolve_targets)."""
        if target is not None:
            draft.pending_targets[attribute] = (module, target, resolved)
        else:
            draft.pending_targets.pop(attribute, None)

    def resolve_targets(self) -> None:
        by_name: dict[str, list[_Draft]] = {}
        for draft in self.drafts.values():
            by_name.setdefault(draft.cls.fact.name, []).append(draft)
        for draft in self.drafts.values():
            fixed = []
            for rel in draft.relationships:
                pending = draft.pending_targets.get(rel.attribute)
                if pending is not None:
                    module, target, resolved = pending
                    key = self.lookup_model(module, target, resolved, draft, by_name)
                    if key is None:
                        self.notes.append(f"{rel.location}: relationship {draft.cls.fact.name}."
                                          f"{rel.attribute} -> {target}: target model not found")
                    rel = replace(rel, target_model=key)
                fixed.append(rel)
            draft.relationships = fixed
            draft.pending_targets = {}

    def lookup_model(self, module: ModuleSummary | None, target: str, resolved: str | None,
                     draft: _Draft, by_name: dict[str, list[_Draft]]) -> str | None:
        if module is not None:
            for candidate in (resolved, target):
                if candidate and "." in candidate:
                    found = self.find_global(candidate)
                    if found is not None and isinstance(found[1], ClassFact):
                        key = f"{found[0].module}:{found[1].qualname}"
                        if key in self.drafts:
                            return key
            if resolved and resolved != target and "." not in target:
                found = self.find(module, target)
                if found is not None and isinstance(found[1], ClassFact):
                    key = f"{found[0].module}:{found[1].qualname}"
                    if key in self.drafts:
                        return key
        # SQLAlchemy's registry resolves a class name among the classes of the same base.
        candidates = by_name.get(_tail(target), [])
        same_root = [c for c in candidates if c.cls.root is draft.cls.root]
        pool = same_root or candidates
        if len(pool) == 1:
            return pool[0].cls.key
        same_module = [c for c in pool if c.cls.module is draft.cls.module]
        return same_module[0].cls.key if len(same_module) == 1 else None

    def add_backrefs(self) -> None:
        for draft in list(self.drafts.values()):
            for rel in list(draft.relationships):
                if not rel.backref or not rel.target_model or rel.target_model not in self.drafts:
                    continue
                other = self.drafts[rel.target_model]
                if any(r.attribute == rel.backref for r in other.relationships):
                    continue
                options = self.backref_options(draft, rel)
                lazy = (_lazy(options["lazy"], self.project, draft.cls.module) if "lazy" in options
                        else "select")
                other.relationships.append(Relationship(
                    attribute=rel.backref, target=draft.cls.fact.name, target_model=draft.cls.key,
                    lazy=lazy, cascade=_const_str(options.get("cascade")), back_populates=None,
                    uselist=_const_bool(options.get("uselist")), location=rel.location,
                    secondary=rel.secondary,
                    passive_deletes=_const_bool(options.get("passive_deletes")),
                    backref_of=f"{draft.cls.fact.name}.{rel.attribute}"))

    def backref_options(self, draft: _Draft, rel: Relationship) -> dict[str, Value]:
        for fact in draft.cls.assigns:
            if fact.target == rel.attribute and fact.value is not None:
                value = fact.value.keyword("backref")
                if value is not None and value.kind == "call":
                    return dict(value.keywords)
        return {}

    # -- table-level constraints ---------------------------------------------------------------
    def table_level(self, draft: _Draft) -> None:
        info = draft.cls
        ancestors = self.unmapped_ancestors(info, self.ancestors(info))
        table = draft.table
        for column in draft.columns:
            if column.primary_key:
                draft.primary_key.append(column.name)
            if column.index or column.unique:
                draft.indexes.append(Index(None, (column.name,), column.unique, column.location, "model", table))
            if column.foreign_key:
                draft.foreign_keys.append(ForeignKey(
                    table, (column.name,), (column.foreign_key,), column.ondelete, column.location,
                    "model", owner=info.key))
        args_fact = None
        for owner in [info, *ancestors]:
            for fact in owner.assigns:
                if fact.target == "__table_args__":
                    args_fact = (owner, fact)
            if args_fact is not None:
                break
        if args_fact is None:
            for owner in [info, *ancestors]:
                if "__table_args__" in owner.fact.methods:
                    self.notes.append(f"{owner.module.path}:{owner.fact.line}: {owner.fact.qualname}."
                                      "__table_args__ is computed; its constraints are unknown")
                    break
            return
        owner, fact = args_fact
        items = self.table_args(owner.module, fact)
        if items is None:
            self.notes.append(f"{owner.module.path}:{fact.line}: {owner.fact.qualname}.__table_args__ "
                              "is not a literal; its constraints are unknown")
            return
        self.constraints(items, owner.module.path, table, draft.indexes, draft.foreign_keys,
                         draft.primary_key, "model", info.key, names=self.column_names(draft),
                         module=owner.module)
        for item in items:
            if item.kind == "dict":
                draft.schema = _literal_str(item.keyword("schema"), self.project, owner.module)
        draft.columns = _with_table_fks(draft.columns, draft.foreign_keys)
        pk = set(draft.primary_key)
        draft.columns = [replace(c, primary_key=True, nullable=False if c.nullable else c.nullable)
                         if c.name in pk and not c.primary_key else c for c in draft.columns]

    def table_args(self, module: ModuleSummary, fact: AssignFact) -> list[Value] | None:
        value = fact.value
        if value is not None and value.kind in ("name", "attr"):
            target = self.module_assign(module, value.text) if "." not in value.text else None
            value = target.value if target is not None else None
        if value is None:
            return None
        if value.kind in ("tuple", "list", "dict"):
            return list(value.items) if value.kind != "dict" else [value]
        return None

    @staticmethod
    def column_names(draft: _Draft) -> dict[str, str]:
        names = {c.attribute: c.name for c in draft.columns if c.attribute}
        names.update({c.name: c.name for c in draft.columns})
        return names

    def constraints(self, items: Iterable[Value], path: str, table: str | None, indexes: list[Index],
                    foreign_keys: list[ForeignKey], primary_key: list[str], source: str, owner: str,
                    names: dict[str, str] | None = None, on_fk=None, on_index=None, on_pk=None,
                    module: ModuleSummary | None = None) -> None:
        """Index / UniqueConstraint / PrimaryKeyConstraint / ForeignKeyConstraint values."""
        names = names or {}

        def column(text: str) -> str:
            if text in names:
                return names[text]
            attr = text.rsplit(".", 1)[-1]
            return names.get(attr, text)

        for item in items:
            if item.kind != "call":
                continue
            tail = _tail(item.name or item.text)
            if not _head_ok(item.name or item.text):
                continue
            location = Location(path, item.line)
            if tail == "Index":
                cols = tuple(column(c) for c in _name_list(_tuple_of(item.items[1:])))
                index = Index(_unwrap_name(item.arg(0)), cols, _const_bool(item.keyword("unique")) is True,
                              location, source, table)
                indexes.append(index)
                if on_index:
                    on_index(index, False)
            elif tail == "UniqueConstraint":
                cols = tuple(column(c) for c in _name_list(_tuple_of(item.items)))
                index = Index(_unwrap_name(item.keyword("name")), cols, True, location, source, table)
                indexes.append(index)
                if on_index:
                    on_index(index, True)
            elif tail == "PrimaryKeyConstraint":
                cols = tuple(column(c) for c in _name_list(_tuple_of(item.items)))
                primary_key[:] = list(cols)
                if on_pk:
                    on_pk(cols, _unwrap_name(item.keyword("name")), location)
            elif tail == "ForeignKeyConstraint":
                cols = tuple(column(c) for c in _name_list(_arg(item, 0, "columns")))
                refs = self.references(_arg(item, 1, "refcolumns"), module)
                fk = ForeignKey(table, cols, refs, _const_str(item.keyword("ondelete")), location, source,
                                _unwrap_name(item.keyword("name")), owner)
                foreign_keys.append(fk)
                if on_fk:
                    on_fk(fk)

    def references(self, value: Value | None, module: ModuleSummary | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        items = value.items if value.kind in ("list", "tuple") else (value,)
        refs = []
        for item in items:
            text = _const_str(item)
            if text is None and item.kind == "attr":
                text = self.attr_reference(item, module) or item.text
            refs.append(text if text is not None else item.text)
        return tuple(refs)

    def attr_reference(self, value: Value, module: ModuleSummary | None = None) -> str | None:
        """`Book.id` -> "books.id" once models are known."""
        head, _, attr = value.text.rpartition(".")
        candidates = []
        if value.name and value.name != value.text:
            found = self.find_global(value.name.rpartition(".")[0])
            if found is not None and isinstance(found[1], ClassFact):
                candidates = [d for d in self.drafts.values()
                              if d.cls.key == f"{found[0].module}:{found[1].qualname}"]
        if not candidates:
            candidates = [d for d in self.drafts.values() if d.cls.fact.name == _tail(head)]
            if module is not None and len(candidates) > 1:
                candidates = [d for d in candidates if d.cls.module is module]
        if len(candidates) != 1 or candidates[0].table is None:
            return None
        target = candidates[0]
        column = next((c for c in target.columns if c.attribute == attr), None)
        return f"{target.table}.{column.name if column else attr}"

    def resolve_pending(self, draft: _Draft) -> None:
        for attribute, value, module in draft.pending_fks:
            ref = self.attr_reference(value, module)
            if ref is None:
                # still a foreign key: keep the reference as written ("DispatchUser.id")
                ref = value.text
                self.notes.append(f"{draft.cls.module.path}:{value.line}: ForeignKey({value.text}) of "
                                  f"{draft.cls.fact.qualname}.{attribute}: the referenced table is unknown")
            for i, column in enumerate(draft.columns):
                if column.attribute == attribute and column.foreign_key is None:
                    draft.columns[i] = replace(column, foreign_key=ref)
        draft.pending_fks = []

    def module_level_indexes(self) -> None:
        """`Index("ix_reviews_rating", Review.rating)` after the class."""
        for module in self.sources:
            for call in module.calls:
                if call.scope != "" or _tail(call.name) != "Index" or not _head_ok(call.name):
                    continue
                if not call.args or call.args[0].kind != "const":
                    continue
                owners = {a.text.rpartition(".")[0] for a in call.args[1:] if a.kind == "attr"}
                if len(owners) != 1:
                    continue
                owner = owners.pop()
                drafts = [d for d in self.drafts.values()
                          if d.cls.fact.name == _tail(owner) and d.cls.module is module]
                if len(drafts) != 1:
                    continue
                draft = drafts[0]
                names = self.column_names(draft)
                cols = tuple(names.get(a.text.rpartition(".")[2], a.text.rpartition(".")[2])
                             for a in call.args[1:] if a.kind == "attr")
                draft.indexes.append(Index(_const_str(call.args[0]), cols,
                                           _const_bool(call.keyword("unique")) is True,
                                           Location(module.path, call.line, call.column, call.end_line),
                                           "model", draft.table))

    def inherit(self, draft: _Draft) -> None:
        """Mapped parents: single-table inheritance takes the parent's table."""
        for anc in self.ancestors(draft.cls):
            if anc.key in self.drafts and anc.key != draft.cls.key:
                draft.parent = anc.key
                declared, _ = self.own_tablename(draft.cls)
                if not declared and draft.cls.root.kind != "sqlmodel":
                    parent = self.drafts[anc.key]
                    has_pk = any(c.primary_key for c in draft.columns)
                    if not (draft.cls.root.flask and has_pk):
                        draft.table = parent.table
                break

    # -- Core tables -------------------------------------------------------------------------------
    @staticmethod
    def is_table_call(value: Value | CallFact) -> bool:
        """sqlalchemy.Table(...), or an unresolved `db.Table(...)` / `Table(...)` with columns."""
        name = value.name
        callee = value.callee if isinstance(value, CallFact) else value.text.split("(")[0]
        args = value.args if isinstance(value, CallFact) else value.items
        if _tail(name) != "Table" or not args:
            return False
        if name.startswith(("sqlalchemy.", "sqlmodel.")):
            return True
        return name == callee and any(_callee_is(a, {"Column"}) for a in args)

    def core_tables(self) -> None:
        for module in self.sources:
            for call in module.calls:
                if not self.is_table_call(call):
                    continue
                if call.scope and call.target == "__table__":
                    continue  # a model's table, read with the model
                try:
                    self.tables.append(self.core_table(module, call))
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{module.path}:{call.line}: table not read ({exc.__class__.__name__})")

    def table_name_of(self, module: ModuleSummary, value: Value | None) -> str | None:
        text = _const_str(value)
        if text is None and value is not None:
            resolved = self.project.constant(value, module)
            text = resolved if isinstance(resolved, str) else None
        return text

    def core_parts(self, module: ModuleSummary, table: str | None, args: Iterable[Value], key: str):
        columns: list[Column] = []
        rest: list[Value] = []
        for item in args:
            if _callee_is(item, {"Column"}):
                columns.append(self.column(None, module, "", item, None, Location(module.path, item.line),
                                           style="core"))
            else:
                rest.append(item)
        indexes = [Index(None, (c.name,), c.unique, c.location, "model", table)
                   for c in columns if c.index or c.unique]
        fks = [ForeignKey(table, (c.name,), (c.foreign_key,), c.ondelete, c.location, "model", owner=key)
               for c in columns if c.foreign_key]
        pk = [c.name for c in columns if c.primary_key]
        self.constraints(rest, module.path, table, indexes, fks, pk, "model", key, module=module)
        return columns, indexes, fks, pk

    def core_table(self, module: ModuleSummary, call: CallFact) -> TableDef:
        table = self.table_name_of(module, call.args[0])
        name = call.target if "." not in call.target else ""
        key = f"{module.module}:{name}" if name else f"{module.module}:<table {table}>"
        columns, indexes, fks, pk = self.core_parts(module, table, call.args[1:], key)
        return TableDef(name, key, table, tuple(columns), tuple(indexes), tuple(fks), tuple(pk),
                        Location(module.path, call.line, call.column, call.end_line), module.path)

    # -- freeze ------------------------------------------------------------------------------------
    def models(self) -> tuple[Model, ...]:
        models = []
        for draft in self.drafts.values():
            info = draft.cls
            fact = info.fact
            models.append(Model(
                name=fact.name, qualname=info.key, table=draft.table, columns=tuple(draft.columns),
                relationships=tuple(draft.relationships), indexes=tuple(draft.indexes),
                location=Location(info.module.path, fact.line, 0, fact.end_line), style=draft.style,
                path=info.module.path, foreign_keys=tuple(draft.foreign_keys),
                primary_key=tuple(draft.primary_key), parent=draft.parent, schema=draft.schema))
        models.sort(key=lambda m: (m.path, m.location.line))
        return tuple(models)


_DECLARATIVE_BASE = _Root("declarative", "declarative-2.0")
_SQLMODEL = _Root("sqlmodel", "sqlmodel")


def _is_revision(module: ModuleSummary) -> bool:
    assigned = {a.target for a in module.assignments if a.scope == ""}
    return {"revision", "down_revision"} <= assigned and any(
        c.name.startswith("alembic.op.") for c in module.calls)


def _head_ok(name: str) -> bool:
    return name.split(".", 1)[0] not in FOREIGN_HEADS


def _tuple_of(items: Iterable[Value]) -> Value:
    return Value("tuple", items=tuple(items))


def _eval_name_expr(value: Value, class_name: str) -> str | None:
    """cls.__name__, cls.__name__.lower(), f"{cls.__name__.lower()}s" -> the table name."""
    text = value.text.replace(" ", "")
    if text in ("cls.__name__", "self.__name__"):
        return class_name
    if text in ("cls.__name__.lower()", "self.__name__.lower()"):
        return class_name.lower()
    if value.kind == "fstring":
        parts = []
        for part in value.items:
            if part.kind == "const":
                parts.append(str(part.const))
                continue
            evaluated = _eval_name_expr(part, class_name)
            if evaluated is None:
                return None
            parts.append(evaluated)
        return "".join(parts)
    if value.kind == "binop" and value.name == "Add" and len(value.items) == 2:
        left = _eval_name_expr(value.items[0], class_name)
        right = _eval_name_expr(value.items[1], class_name)
        return left + right if left is not None and right is not None else None
    if value.kind == "const" and isinstance(value.const, str):
        return value.const
    return None


# -- migrations ---------------------------------------------------------------------------------
OP_KINDS = frozenset({
    "create_table", "create_index", "add_column", "create_foreign_key", "drop_index",
    "drop_table", "create_unique_constraint", "create_primary_key", "drop_constraint",
    "drop_column", "execute",
})


class _Migrations:
    def __init__(self, builder: _Builder):
        self.builder = builder
        self.project = builder.project
        self.notes = builder.notes
        self.ops: list[MigrationOp] = []

    def ordered(self) -> list[ModuleSummary]:
        """Migration modules in revision order (down_revision before revision), then the rest."""
        modules = self.builder.migrations_src
        revision_of: dict[str, str] = {}
        parents: dict[str, tuple[str, ...]] = {}
        for module in modules:
            rev = self.const_of(module, "revision")
            if isinstance(rev, str):
                revision_of[module.path] = rev
                down = self.down_revisions(module)
                parents[rev] = down
        by_rev = {rev: path for path, rev in sorted(revision_of.items())}
        order: list[str] = []
        seen: set[str] = set()
        # depth-first, parents before children; iterative, as chains run to hundreds
        for path in sorted(revision_of):
            stack = [(revision_of[path], False)]
            while stack:
                rev, ready = stack.pop()
                if ready:
                    order.append(rev)
                    continue
                if rev in seen:
                    continue
                seen.add(rev)
                stack.append((rev, True))
                for parent in reversed(parents.get(rev, ())):
                    if parent in by_rev and parent not in seen:
                        stack.append((parent, False))
        paths = [by_rev[rev] for rev in order]
        rest = sorted(m.path for m in modules if m.path not in revision_of)
        by_path = {m.path: m for m in modules}
        return [by_path[p] for p in paths + rest]

    def const_of(self, module: ModuleSummary, name: str):
        fact = self.builder.module_assign(module, name)
        if fact is None or fact.value is None:
            return None
        return fact.value.const if fact.value.kind == "const" else None

    def down_revisions(self, module: ModuleSummary) -> tuple[str, ...]:
        fact = self.builder.module_assign(module, "down_revision")
        if fact is None or fact.value is None:
            return ()
        value = fact.value
        if value.kind in ("tuple", "list"):
            return tuple(_const_str(i) for i in value.items if _const_str(i))
        text = _const_str(value)
        return (text,) if text else ()

    def build(self) -> None:
        for module in self.ordered():
            revision = self.const_of(module, "revision")
            revision = revision if isinstance(revision, str) else None
            for call in module.calls:
                try:
                    before = len(self.ops)
                    self.call(module, call, revision)
                    schema = _const_str(call.keyword("schema"))
                    if schema and len(self.ops) > before:
                        self.ops[before:] = [replace(op, schema=schema) for op in self.ops[before:]]
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{module.path}:{call.line}: migration call {call.callee} not read "
                                      f"({exc.__class__.__name__})")

    def op_name(self, module: ModuleSummary, call: CallFact) -> tuple[str, str | None] | None:
        """(operation, batch table) for op.X(...) and batch_op.X(...) calls."""
        name = call.name
        if name.startswith("alembic.op."):
            op = name[len("alembic.op."):]
            return (op, None) if op in OP_KINDS else None
        head, _, op = call.callee.rpartition(".")
        if op not in OP_KINDS or not head:
            return None
        if head == "op":
            return op, None
        # `with op.batch_alter_table("t") as batch_op:` -> the nearest one before this call
        batch = None
        for other in module.calls:
            if other.line > call.line:
                continue
            if (other.with_item and other.target == head and other.scope == call.scope
                    and _tail(other.name) == "batch_alter_table"
                    and (batch is None or other.line >= batch.line)):
                batch = other
        if batch is None:
            return None
        table = _const_str(_arg(batch, 0, "table_name"))
        if table is None and batch.args:
            resolved = self.project.constant(batch.args[0], module)
            table = resolved if isinstance(resolved, str) else None
        return op, table or ""

    def table_name(self, module: ModuleSummary, value: Value | None) -> str | None:
        if value is None:
            return None
        text = _unwrap_name(value)
        if text is not None:
            return text
        resolved = self.project.constant(value, module)
        return resolved if isinstance(resolved, str) else None

    def call(self, module: ModuleSummary, call: CallFact, revision: str | None) -> None:
        found = self.op_name(module, call)
        if found is None:
            return
        op, batch_table = found
        batch = batch_table is not None
        scope = call.scope.split(".", 1)[0]
        phase = UPGRADE if scope.startswith(UPGRADE) else DOWNGRADE if scope.startswith(DOWNGRADE) else ""
        location = Location(module.path, call.line, call.column, call.end_line)
        base = {"location": location, "phase": phase, "revision": revision}

        def emit(kind: str, table: str | None, columns: tuple[str, ...] = (), name: str | None = None,
                 **extra) -> None:
            self.ops.append(MigrationOp(kind=kind, table=table, columns=columns, name=name,
                                        ondelete=extra.pop("ondelete", None),
                                        unique=extra.pop("unique", False), **{**base, **extra}))

        # positions shift by one in batch mode: the table comes from batch_alter_table
        shift = 0 if batch else 1
        table = batch_table if batch else None
        if op == "create_table":
            self.create_table(module, call, base)
        elif op == "create_index":
            name = _unwrap_name(_arg(call, 0, "index_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            cols = _name_list(_arg(call, shift + 1, "columns"))
            emit("create_index", table, cols, name, unique=_const_bool(call.keyword("unique")) is True)
        elif op == "drop_index":
            name = _unwrap_name(_arg(call, 0, "index_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("drop_index", table, (), name)
        elif op == "add_column":
            if not batch:
                table = self.table_name(module, _arg(call, 0, "table_name"))
            column_value = _arg(call, shift, "column")
            if _callee_is(column_value, {"Column"}):
                column = self.builder.column(None, module, "", column_value, None,
                                             Location(module.path, column_value.line), style="core")
                emit("add_column", table, (column.name,), None, column_defs=(column,))
                self.inline_column_ops(table, column, base)
            else:
                emit("add_column", table, (), None)
        elif op == "drop_column":
            if not batch:
                table = self.table_name(module, _arg(call, 0, "table_name"))
            name = _unwrap_name(_arg(call, shift, "column_name"))
            emit("drop_column", table, (name,) if name else (), None)
        elif op == "create_foreign_key":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "source_table"))
            referent = self.table_name(module, _arg(call, shift + 1, "referent_table"))
            local = _name_list(_arg(call, shift + 2, "local_cols"))
            remote = _name_list(_arg(call, shift + 3, "remote_cols"))
            refs = tuple(f"{referent}.{c}" if referent else c for c in remote)
            emit("create_foreign_key", table, local, name, ondelete=_const_str(call.keyword("ondelete")),
                 references=refs)
        elif op == "create_unique_constraint":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("create_unique_constraint", table, _name_list(_arg(call, shift + 1, "columns")), name,
                 unique=True)
        elif op == "create_primary_key":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("create_primary_key", table, _name_list(_arg(call, shift + 1, "columns")), name)
        elif op == "drop_constraint":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("drop_constraint", table, (), name, constraint_type=_const_str(call.keyword("type_")))
        elif op == "drop_table":
            emit("drop_table", self.table_name(module, _arg(call, 0, "table_name")), (), None)
        elif op == "execute":
            self.execute_sql(call, base)

    def create_table(self, module: ModuleSummary, call: CallFact, base: dict) -> None:
        table = self.table_name(module, _arg(call, 0, "table_name"))
        if len(call.args) >= MAX_CALL_ARGS:
            self.notes.append(f"{module.path}:{call.line}: create_table({table!r}) has {MAX_CALL_ARGS} or "
                              "more arguments; the facts keep the first ones, later columns and "
                              "constraints are unknown")
        columns: list[Column] = []
        constraints: list[Value] = []
        for item in call.args[1:]:
            if _callee_is(item, {"Column"}):
                columns.append(self.builder.column(None, module, "", item, None,
                                                   Location(module.path, item.line), style="core"))
            elif item.kind == "call":
                constraints.append(item)
        inline = {"inline": True}
        derived: list[MigrationOp] = []
        pk_holder: list[str] = []
        pk_seen: list[tuple] = []

        def on_index(index: Index, is_constraint: bool) -> None:
            kind = "create_unique_constraint" if is_constraint else "create_index"
            derived.append(MigrationOp(kind, table, index.columns, index.name, None, index.unique,
                                       index.location, phase=base["phase"], revision=base["revision"],
                                       **inline))

        def on_fk(fk: ForeignKey) -> None:
            derived.append(MigrationOp("create_foreign_key", table, fk.columns, fk.name, fk.ondelete, False,
                                       fk.location, references=fk.references, phase=base["phase"],
                                       revision=base["revision"], **inline))

        def on_pk(cols: tuple[str, ...], name: str | None, location: Location) -> None:
            pk_seen.append((cols, name, location))

        self.builder.constraints(constraints, module.path, table, [], [], pk_holder, "migration",
                                 module.path, on_fk=on_fk, on_index=on_index, on_pk=on_pk)
        pk_cols = pk_seen[-1][0] if pk_seen else tuple(c.name for c in columns if c.primary_key)
        if pk_cols:
            # a primary key column is NOT NULL unless nullable= says otherwise
            columns = [replace(c, primary_key=True,
                               nullable=c.nullable if _explicit_nullable(call, c.name) else False)
                       if c.name in pk_cols else c for c in columns]
        inline_columns = columns  # their own flags and ForeignKey(), for the inline ops below
        columns = _with_table_fks(columns, [d for d in derived if d.kind == "create_foreign_key"])
        self.ops.append(MigrationOp("create_table", table, tuple(c.name for c in columns), None, None, False,
                                    column_defs=tuple(columns), **base))
        if pk_cols:
            location = pk_seen[-1][2] if pk_seen else base["location"]
            self.ops.append(MigrationOp("create_primary_key", table, tuple(pk_cols),
                                        pk_seen[-1][1] if pk_seen else None, None, False, location,
                                        phase=base["phase"], revision=base["revision"], **inline))
        for column in inline_columns:
            self.inline_column_ops(table, column, base, primary=False)
        self.ops.extend(derived)

    def inline_column_ops(self, table: str | None, column: Column, base: dict, primary: bool = True) -> None:
        common = {"phase": base["phase"], "revision": base["revision"], "inline": True}
        if column.index or column.unique:
            kind = "create_index" if column.index else "create_unique_constraint"
            self.ops.append(MigrationOp(kind, table, (column.name,), None, None, column.unique,
                                        column.location, **common))
        if column.foreign_key:
            self.ops.append(MigrationOp("create_foreign_key", table, (column.name,), None, column.ondelete,
                                        False, column.location, references=(column.foreign_key,), **common))
        if primary and column.primary_key:
            self.ops.append(MigrationOp("create_primary_key", table, (column.name,), None, None, False,
                                        column.location, **common))

    def execute_sql(self, call: CallFact, base: dict) -> None:
        sql = _unwrap_name(_arg(call, 0, "sqltext"))
        if not sql:
            return
        for match in CREATE_INDEX_SQL.finditer(sql):
            cols = tuple(c.strip().strip('"').split()[0] if c.strip() else c
                         for c in _split_top(match.group("cols"), ","))
            self.ops.append(MigrationOp("create_index", match.group("table").strip('"'), cols,
                                        match.group("name").strip('"'), None, bool(match.group("unique")),
                                        **base))
        for match in DROP_INDEX_SQL.finditer(sql):
            self.ops.append(MigrationOp("drop_index", None, (), match.group("name").strip('"'), None, False,
                                        **base))

    # -- the schema after all upgrades -------------------------------------------------------------
    def final_state(self) -> tuple[list[Index], list[ForeignKey], dict[str, tuple[str, ...]]]:
        indexes: list[Index] = []
        fks: list[ForeignKey] = []
        pks: dict[str, tuple[str, ...]] = {}
        pk_names: dict[str, str | None] = {}
        for op in self.ops:
            if op.phase == DOWNGRADE:
                continue
            table = op.table
            if op.kind in ("create_index", "create_unique_constraint"):
                indexes.append(Index(op.name, op.columns, op.unique, op.location, "migration", table))
            elif op.kind == "create_foreign_key":
                fks.append(ForeignKey(table, op.columns, op.references, op.ondelete, op.location,
                                      "migration", op.name, op.location.path))
            elif op.kind == "create_primary_key":
                pks[table or ""] = op.columns
                pk_names[table or ""] = op.name
            elif op.kind == "drop_index" and op.name:
                indexes = [i for i in indexes
                           if not (i.name == op.name and (not table or i.table == table))]
            elif op.kind == "drop_constraint" and op.name:
                kind = (op.constraint_type or "").lower()
                if kind in ("", "unique"):
                    indexes = [i for i in indexes if not (
                        i.unique and (not table or i.table == table)
                        and op.name in (i.name, _default_name(i.table, i.columns, "key")))]
                if kind in ("", "foreignkey"):
                    fks = [f for f in fks if not (
                        (not table or f.table == table)
                        and op.name in (f.name, _default_name(f.table, f.columns, "fkey")))]
                if kind in ("", "primary") and table in pks and op.name in (pk_names.get(table),
                                                                            f"{table}_pkey"):
                    pks.pop(table)
            elif op.kind == "drop_table":
                indexes = [i for i in indexes if i.table != table]
                fks = [f for f in fks if f.table != table]
                pks.pop(table or "", None)
            elif op.kind == "drop_column" and op.columns:
                gone = op.columns[0]
                indexes = [i for i in indexes if not (i.table == table and gone in i.columns)]
                fks = [f for f in fks if not (f.table == table and gone in f.columns)]
                if gone in pks.get(table or "", ()):
                    pks.pop(table or "", None)
        return indexes, fks, pks


def _with_table_fks(columns: list[Column], fks: Iterable[ForeignKey | MigrationOp]) -> list[Column]:
    """A single-column ForeignKeyConstraint also tells the column what it references."""
    by_column = {}
    for fk in fks:
        if len(fk.columns) == 1 and len(fk.references) == 1:
            by_column.setdefault(fk.columns[0], fk)
    fixed = []
    for column in columns:
        fk = by_column.get(column.name)
        if fk is not None and column.foreign_key is None:
            column = replace(column, foreign_key=fk.references[0], ondelete=fk.ondelete)
        fixed.append(column)
    return fixed


def _default_name(table: str | None, columns: tuple[str, ...], suffix: str) -> str:
    """PostgreSQL's name for an unnamed constraint: favorites_user_id_fkey."""
    return f"{table}_{'_'.join(columns)}_{suffix}"


def _explicit_nullable(call: CallFact, column_name: str) -> bool:
    for item in call.args[1:]:
        if _callee_is(item, {"Column"}) and item.items and _const_str(item.items[0]) == column_name:
            return item.keyword("nullable") is not None
    return False


# -- entry point ----------------------------------------------------------------------------------
def build_orm(project, kinds: tuple[str, ...] = ("source",)) -> OrmModel:
    """The ORM model of a project: a pure function of its module summaries."""
    builder = _Builder(project, kinds)
    builder.build_models()
    builder.module_level_indexes()
    builder.resolve_targets()
    builder.add_backrefs()
    builder.core_tables()
    migrations = _Migrations(builder)
    migrations.build()
    indexes, fks, pks = migrations.final_state()
    for module in project.summaries("migration"):
        if module.problem is not None:
            builder.notes.append(f"{module.path}: not parsed ({module.problem.kind}); its operations are unknown")
    return OrmModel(
        models=builder.models(), migrations=tuple(migrations.ops), notes=tuple(builder.notes),
        tables=tuple(builder.tables), migration_indexes=tuple(indexes),
        migration_foreign_keys=tuple(fks), migration_primary_keys=tuple(sorted(pks.items())))
