"""The clauses of a SQLAlchemy statement, read from its syntax: which columns a
`where`/`filter`/`having` compares (and with what), which it sorts or joins on, and which
loader options (`selectinload(A.b).joinedload(B.c)`) it sets. Used by orm_queries.py.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from prodaudit.model.values import Value, dotted_name, source_text, to_value

EAGER_STRATEGIES = frozenset({
    "selectinload", "joinedload", "subqueryload", "contains_eager", "immediateload",
    "raiseload", "lazyload", "noload", "defaultload", "defer", "undefer", "load_only",
    "selectin_polymorphic", "with_expression",
})
COMPARE_OPS = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt",
               ast.GtE: "ge", ast.In: "in", ast.NotIn: "not_in", ast.Is: "is", ast.IsNot: "is"}
COLUMN_METHODS = {"in_": "in", "not_in": "not_in", "notin_": "not_in", "is_": "is",
                  "isnot": "is", "is_not": "is", "between": "between", "like": "like",
                  "ilike": "like", "notlike": "like", "notilike": "like", "contains": "like",
                  "startswith": "like", "endswith": "like", "match": "like",
                  "regexp_match": "like", "any": "any", "has": "any", "op": "other",
                  "desc": "order", "asc": "order", "nulls_last": "order", "nulls_first": "order",
                  "collate": "other"}
BOOLEAN_FUNCS = frozenset({"and_", "or_", "not_", "sqlalchemy.and_", "sqlalchemy.or_",
                           "sqlalchemy.not_", "sqlalchemy.sql.and_", "sqlalchemy.sql.or_"})


@dataclass(frozen=True)
class ColumnRef:
    model: str  # the class as written ("Favorite", "models.Favorite")
    model_name: str  # resolved through imports ("app.models.favorite.Favorite")
    attribute: str  # "user_id"
    line: int


@dataclass(frozen=True)
class Filter:
    column: ColumnRef
    op: str  # eq ne lt le gt ge in not_in is between like any order join other
    clause: str  # where, filter, filter_by, having, order_by, join
    value: Value | None = None  # the other side of a comparison


@dataclass(frozen=True)
class EagerLoad:
    strategy: str  # selectinload, joinedload, raiseload...
    path: tuple[str, ...]  # attributes as written: ("Order.items",), ("items",), ("*",)
    line: int


def is_model_ref(node: ast.AST) -> bool:
    """`Book`, `models.Book`: a dotted name whose last part is capitalised."""
    dotted = dotted_name(node)
    return bool(dotted) and dotted.rsplit(".", 1)[-1][:1].isupper()



def column_ref(node: ast.AST, parsed) -> ColumnRef | None:
    """`Favorite.user_id` (a capitalised class, then an attribute), else None."""
    if isinstance(node, ast.Attribute) and is_model_ref(node.value):
        model = dotted_name(node.value) or ""
        return ColumnRef(model, parsed.resolve(node.value) or model, node.attr, node.lineno)
    return None


def to_value_of(parsed, node: ast.AST) -> Value | None:
    return to_value(node, parsed.imports.resolve)


def filters_of(node: ast.AST, clause: str, parsed) -> list[Filter]:
    found: list[Filter] = []
    if isinstance(node, ast.BoolOp):
        for value in node.values:
            found.extend(filters_of(value, clause, parsed))
    elif isinstance(node, ast.UnaryOp):
        found.extend(filters_of(node.operand, clause, parsed))
    elif isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        for index, op in enumerate(node.ops):
            left, right = sides[index], sides[index + 1]
            name = COMPARE_OPS.get(type(op), "other")
            for mine, other in ((left, right), (right, left)):
                ref = column_ref(mine, parsed)
                if ref is not None:
                    found.append(Filter(ref, name, clause, to_value_of(parsed, other)))
                elif isinstance(mine, ast.Call) and dotted_name(mine.func):
                    # func.lower(User.email) == x: an expression, not the plain column
                    for arg in mine.args:
                        inner = column_ref(arg, parsed)
                        if inner is not None:
                            found.append(Filter(inner, "expr", clause, to_value_of(parsed, other)))
    elif isinstance(node, ast.Call):
        func = node.func
        written = dotted_name(func) or ""
        if written.rsplit(".", 1)[-1] in ("and_", "or_", "not_") or parsed.resolve(func) in BOOLEAN_FUNCS:
            for arg in node.args:
                found.extend(filters_of(arg, clause, parsed))
        elif isinstance(func, ast.Attribute) and func.attr in COLUMN_METHODS:
            ref = column_ref(func.value, parsed)
            if ref is not None:
                other = to_value_of(parsed, node.args[0]) if node.args else None
                found.append(Filter(ref, COLUMN_METHODS[func.attr], clause, other))
    return found

def order_of(node: ast.AST, parsed) -> list[Filter]:
    ref = column_ref(node, parsed)
    if ref is not None:
        return [Filter(ref, "order", "order_by")]
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("desc", "asc", "nulls_last", "nulls_first"):
            return order_of(func.value, parsed)
        written = (dotted_name(func) or "").rsplit(".", 1)[-1]
        if written in ("desc", "asc", "nulls_last", "nulls_first", "nullslast", "nullsfirst") and node.args:
            return order_of(node.args[0], parsed)
    return []

def eager_loads(node: ast.AST) -> list[EagerLoad]:
    """`selectinload(A.b).joinedload(B.c)`, `Load(A).selectinload(A.b)`, strings."""
    found: list[EagerLoad] = []
    current = node
    while isinstance(current, ast.Call):
        func = current.func
        strategy = func.attr if isinstance(func, ast.Attribute) else (dotted_name(func) or "")
        strategy = strategy.rsplit(".", 1)[-1]
        if strategy in EAGER_STRATEGIES:
            path = tuple(source_text(a) if not isinstance(a, ast.Constant) else str(a.value)
                         for a in current.args)
            found.append(EagerLoad(strategy, path, current.lineno))
        current = func.value if isinstance(func, ast.Attribute) else None
    return found
