"""ORM model: annotation shapes, small value readers, builder state (see orm.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from prodaudit.model.facts import AssignFact, CallFact, ClassFact, ModuleSummary
from prodaudit.model.orm_records import (
    COLLECTIONS,
    FOREIGN_HEADS,
    LAZY_CONSTANTS,
    MAPPED_WRAPPERS,
    TIMEZONE_TYPES,
    Column,
    ForeignKey,
    Index,
    MigrationOp,
    Relationship,
)
from prodaudit.model.resolve import ImportTable
from prodaudit.model.values import Value


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
