"""SQLAlchemy statements per function: what they select, filter, order, join, eager-load,
limit and offset, how they are executed and fetched, and where their rows go.

One walk per function, in statement order, with a small environment of local names:
`stmt = select(Book)`, `stmt = stmt.where(...)`, `result = await session.execute(stmt)`,
`rows = result.scalars().all()`, `for book in rows: ...`. Statements built through helper
functions or passed in as parameters are not followed (the model phase treats them as
unknown). Loops over rows are recorded as orm_loops.RowLoop facts by the same walk.

Recognised: `select()/update()/delete()/insert()` (sqlalchemy, sqlmodel), 1.x
`session.query(Model)` and Flask-SQLAlchemy `Model.query`, `session.get(Model, id)`;
executions through `execute/exec/scalars/scalar/stream/stream_scalars` on any receiver
when the argument is a known statement.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from prodaudit.model.extractors._source_gates import ends_word, has_word, occurrences
from prodaudit.model.extractors.orm_clauses import (
    ColumnRef,
    EagerLoad,
    Filter,
    column_ref,
    eager_loads,
    filters_of,
    is_model_ref,
    order_of,
)
from prodaudit.model.extractors.orm_loops import RowLoop, reads_of
from prodaudit.model.values import Value, dotted_name, source_lines_for_text, source_text, to_value

SELECT_FUNCS = frozenset({
    "sqlalchemy.select", "sqlalchemy.future.select", "sqlalchemy.sql.select",
    "sqlalchemy.sql.expression.select", "sqlmodel.select", "sqlmodel.sql.expression.select",
})
DML_FUNCS = {
    "sqlalchemy.update": "update", "sqlalchemy.delete": "delete", "sqlalchemy.insert": "insert",
    "sqlalchemy.sql.update": "update", "sqlalchemy.sql.delete": "delete",
    "sqlalchemy.sql.insert": "insert", "sqlalchemy.dialects.postgresql.insert": "insert",
    "sqlalchemy.dialects.sqlite.insert": "insert", "sqlalchemy.dialects.mysql.insert": "insert",
    "sqlmodel.update": "update", "sqlmodel.delete": "delete", "sqlmodel.insert": "insert",
}
# Methods that return the statement (or 1.x Query) they are called on, refined.
CHAIN_METHODS = frozenset({
    "where", "filter", "filter_by", "order_by", "join", "outerjoin", "join_from",
    "outerjoin_from", "options", "limit", "offset", "slice", "group_by", "having", "distinct",
    "execution_options", "with_for_update", "select_from", "returning", "values", "correlate",
    "add_columns", "with_only_columns", "params", "fetch", "prefix_with", "suffix_with",
    "enable_eagerloads", "populate_existing", "yield_per", "with_entities", "autoflush",
    "on_conflict_do_nothing", "on_conflict_do_update", "ordered_values", "set_",
})
# 1.x Query methods that run it.
QUERY_MANY = frozenset({"all", "paginate", "fetchall"})
QUERY_ONE = frozenset({"first", "one", "one_or_none", "scalar", "get", "first_or_404",
                       "get_or_404", "one_or_404", "exists"})
QUERY_COUNT = frozenset({"count"})
# Result methods.
RESULT_SAME = frozenset({"unique", "mappings", "tuples", "columns", "scalars"})
RESULT_MANY = frozenset({"all", "fetchall", "partitions", "fetchmany"})
RESULT_ONE = frozenset({"first", "one", "one_or_none", "scalar", "scalar_one",
                        "scalar_one_or_none", "fetchone"})
EXECUTE_RESULT = frozenset({"execute", "exec", "stream"})
EXECUTE_SCALARS = frozenset({"scalars", "stream_scalars"})
EXECUTE_SCALAR = frozenset({"scalar", "scalar_one", "scalar_one_or_none"})
EXECUTE_METHODS = EXECUTE_RESULT | EXECUTE_SCALARS | EXECUTE_SCALAR
QUERY_RUNS = QUERY_MANY | QUERY_ONE | QUERY_COUNT
SESSION_NAME = re.compile(r"(^|_)(session|sess|db|database|conn|connection|uow|tx|s)$", re.IGNORECASE)
MODULE_GATE = re.compile(r"\b(select|query|execute|scalars|sqlalchemy|sqlmodel|session)\b")
MODULE_GATE_WORDS = ("select", "query", "execute", "scalars", "sqlalchemy", "sqlmodel", "session")
# A function can hold a statement, or loop over rows someone else fetched; any other
# function is skipped without walking it.
FUNCTION_GATE = re.compile(r"\bfor\b|select\(|query\b|execute\(|scalars?\(|\.get\(|\.exec\(|"
                           r"update\(|delete\(|insert\(|stream")
FUNCTION_GATE_LITERALS = ("select(", "execute(", "scalar(", "scalars(", ".get(", ".exec(", "update(",
                          "delete(", "insert(", "stream")
# `row.awaitable_attrs.author` (sqlalchemy.ext.asyncio.AsyncAttrs).


# -- the facts -----------------------------------------------------------------------------
@dataclass(frozen=True)
class StatementPart:
    method: str  # where, order_by, limit, offset, options...
    line: int
    args: tuple[Value, ...] = ()
    keywords: tuple[tuple[str, Value], ...] = ()
    # Added to the statement inside an `if` (or loop) after it was first built:
    # `if limit: stmt = stmt.limit(limit)`.
    conditional: bool = False
    condition: str = ""  # the test of that `if`, as written


@dataclass(frozen=True)
class QueryFact:
    scope: str
    line: int  # where the statement starts: select(...), session.query(...), session.get(...)
    kind: str  # select, query (1.x Query / Model.query), get, update, delete, insert
    entities: tuple[Value, ...]
    parts: tuple[StatementPart, ...] = ()
    filters: tuple[Filter, ...] = ()
    eager: tuple[EagerLoad, ...] = ()
    executed_line: int = 0  # 0: not executed in this function (built and passed on)
    awaited: bool = False  # executed with `await`: an AsyncSession / AsyncConnection
    session: str = ""  # receiver of the execution as written ("session", "self._session")
    fetch: str = ""  # many, one, count, result (a Result kept or returned), "" unknown
    scalar_rows: bool = False  # rows are ORM instances (scalars(), 1.x Query, session.get)
    returned: str = ""  # "many"/"one"/"result": the function returns its rows
    in_loop: bool = False  # executed inside a for/while body
    loop_line: int = 0
    uses_loop_var: bool = False  # its arguments use the loop's variable
    loop_iterable: str = ""

    def part(self, method: str) -> StatementPart | None:
        for part in self.parts:
            if part.method == method:
                return part
        return None

    def has(self, *methods: str) -> bool:
        return any(part.method in methods for part in self.parts)


# -- the walk -------------------------------------------------------------------------------
@dataclass(eq=False)
class _Draft:
    kind: str
    line: int
    entities: list[Value]
    depth: int  # `if` nesting where it was built
    parts: list[StatementPart] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    eager: list[EagerLoad] = field(default_factory=list)
    names: set[str] = field(default_factory=set)  # local names its arguments use
    executed_line: int = 0
    awaited: bool = False
    session: str = ""
    fetch: str = ""
    scalar_rows: bool = False
    returned: str = ""
    in_loop: bool = False
    loop_line: int = 0
    uses_loop_var: bool = False
    loop_iterable: str = ""
    primary: str = ""  # the entity filter_by() refers to (the last joined one)
    primary_name: str = ""

    def fact(self, scope: str) -> QueryFact:
        return QueryFact(scope, self.line, self.kind, tuple(self.entities), tuple(self.parts),
                         tuple(self.filters), tuple(self.eager), self.executed_line, self.awaited,
                         self.session, self.fetch, self.scalar_rows, self.returned, self.in_loop,
                         self.loop_line, self.uses_loop_var, self.loop_iterable)


@dataclass(eq=False)
class _Bind:
    """What a local name (or an expression) holds."""

    kind: str  # stmt, result, rows, row, call, attr
    draft: _Draft | None = None
    scalar: bool = False
    callee: str = ""  # call: the callee as written
    line: int = 0
    base: _Bind | None = None  # attr: the object the attribute is read on
    attribute: str = ""


@dataclass(frozen=True)
class ModuleQueries:
    queries: tuple[QueryFact, ...]
    loops: tuple[RowLoop, ...]


class _NameSets:
    """The names used under a node, remembered per node for one module: a statement chain
    `select(A).where(x).order_by(y)` asks for the names of each link and of its receiver,
    which without memory walks the chain again for every link."""

    def __init__(self) -> None:
        self._known: dict[int, frozenset[str]] = {}  # id(node) -> names (the tree outlives this)

    def __call__(self, node: ast.AST) -> frozenset[str]:
        known = self._known
        cached = known.get(id(node))
        if cached is not None:
            return cached
        found: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.Name):
                found.add(current.id)
                continue
            inner = known.get(id(current))
            if inner is not None:
                found |= inner
                continue
            stack.extend(ast.iter_child_nodes(current))
        result = known[id(node)] = frozenset(found)
        return result


class _FunctionWalk:
    def __init__(self, parsed, scope: str, fn: ast.AST, names_in: _NameSets):
        self.parsed = parsed
        self.names_in = names_in
        self.scope = scope
        self.fn = fn
        self.is_async = isinstance(fn, ast.AsyncFunctionDef)
        self.env: dict[str, _Bind] = {}
        self.drafts: list[_Draft] = []
        self.loops: list[RowLoop] = []
        self.depth = 0
        self.loop_stack: list[tuple[int, set[str], str]] = []  # (line, targets, iterable text)
        self.conditions: list[str] = []

    # -- helpers ---------------------------------------------------------------------
    def value(self, node: ast.AST) -> Value | None:
        return to_value(node, self.parsed.imports.resolve)

    def resolve(self, node: ast.AST) -> str:
        return self.parsed.resolve(node)

    def column_ref(self, node: ast.AST) -> ColumnRef | None:
        return column_ref(node, self.parsed)

    def filters_of(self, node: ast.AST, clause: str) -> list[Filter]:
        return filters_of(node, clause, self.parsed)

    def order_of(self, node: ast.AST) -> list[Filter]:
        return order_of(node, self.parsed)

    def eager_loads(self, node: ast.AST) -> list[EagerLoad]:
        return eager_loads(node)

    # -- entry -----------------------------------------------------------------------
    def run(self) -> None:
        for arg in [*self.fn.args.posonlyargs, *self.fn.args.args, *self.fn.args.kwonlyargs]:
            self.env.pop(arg.arg, None)
        self.block(self.fn.body)

    def block(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def nested(self, body: list[ast.stmt], condition: str = "") -> None:
        self.depth += 1
        self.conditions.append(condition)
        try:
            self.block(body)
        finally:
            self.depth -= 1
            self.conditions.pop()

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return  # analysed as its own scope
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            value = stmt.value
            bound = self.expr(value) if value is not None else None
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                self.bind(target, bound)
            if value is not None and self.loop_stack:
                # `day = row.date + 1` inside the loop: `day` stands for the loop item too
                item_names = set().union(*(t for _, t, _ in self.loop_stack))
                if self.names_in(value) & item_names:
                    for target in targets:
                        self.loop_stack[-1][1].update(self.names_in(target))
        elif isinstance(stmt, (ast.AugAssign, ast.Expr)):
            self.expr(stmt.value)
        elif isinstance(stmt, ast.Return):
            if stmt.value is not None:
                bound = self.expr(stmt.value)
                if bound is not None and bound.draft is not None:
                    draft = bound.draft
                    draft.returned = {"rows": "many", "result": "result", "row": "one"}.get(bound.kind, "")
        elif isinstance(stmt, ast.If):
            self.expr(stmt.test)
            condition = source_text(stmt.test)
            self.nested(stmt.body, condition)
            self.nested(stmt.orelse, f"not ({condition})")
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.for_loop(stmt)
        elif isinstance(stmt, ast.While):
            self.expr(stmt.test)
            self.loop_stack.append((stmt.lineno, set(), ""))
            try:
                self.nested(stmt.body)
            finally:
                self.loop_stack.pop()
            self.nested(stmt.orelse)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for item in stmt.items:
                bound = self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, bound)
            self.block(stmt.body)
        elif isinstance(stmt, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self.block(stmt.body)
            for handler in stmt.handlers:
                self.nested(handler.body)
            self.nested(stmt.orelse)
            self.block(stmt.finalbody)
        elif isinstance(stmt, ast.Match):
            self.expr(stmt.subject)
            for case in stmt.cases:
                self.nested(case.body)
        else:
            for child in ast.iter_child_nodes(stmt):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def bind(self, target: ast.AST, bound: _Bind | None) -> None:
        if isinstance(target, ast.Name):
            if bound is None:
                self.env.pop(target.id, None)
            else:
                self.env[target.id] = bound
        else:
            for name in self.names_in(target):
                self.env.pop(name, None)

    # -- loops -----------------------------------------------------------------------
    def for_loop(self, stmt: ast.For | ast.AsyncFor) -> None:
        origin = self.iterated(self.expr(stmt.iter), stmt.iter)
        targets = set(self.names_in(stmt.target))  # grows with names derived from the item
        iterable = source_text(stmt.iter)
        if isinstance(stmt.target, ast.Name):
            row = self.row_of(origin)
            loop = self.row_loop(stmt.lineno, stmt.target.id, origin, stmt.body, iterable, False)
            if loop is not None:
                self.loops.append(loop)
            self.bind(stmt.target, row)
        else:
            self.bind(stmt.target, None)
        self.loop_stack.append((stmt.lineno, targets, iterable))
        try:
            self.nested(stmt.body)
        finally:
            self.loop_stack.pop()
        self.nested(stmt.orelse)

    def iterated(self, origin: _Bind | None, node: ast.AST) -> _Bind | None:
        """Iterating runs a 1.x Query and reads a whole Result."""
        if origin is None or origin.draft is None:
            return origin
        draft = origin.draft
        if origin.kind == "stmt" and draft.kind == "query":
            self.executed(draft, node, None)
            draft.fetch = "many"
            return _Bind("rows", draft, True)
        if origin.kind == "result" and draft.fetch in ("", "result"):
            draft.fetch = "many"
        return origin

    def row_of(self, origin: _Bind | None) -> _Bind | None:
        """What each item of an iterable is."""
        if origin is None:
            return None
        if origin.kind in ("rows", "result") and origin.draft is not None:
            return _Bind("row", origin.draft, origin.scalar)
        if origin.kind == "call":
            return _Bind("callrow", callee=origin.callee, line=origin.line)
        if origin.kind == "attr":
            return _Bind("relrow", base=origin.base, attribute=origin.attribute, line=origin.line)
        return None

    def row_loop(self, line: int, target: str, origin: _Bind | None, body: list[ast.AST],
                 iterable: str, comprehension: bool) -> RowLoop | None:
        if origin is None:
            return None
        common = {"scope": self.scope, "line": line, "target": target, "is_async": self.is_async,
                      "comprehension": comprehension, "iterable_text": iterable}
        if origin.kind in ("rows", "result") and origin.draft is not None:
            if not origin.scalar:
                return None  # Row tuples: `row.author` is not an attribute load on a model
            found = {"origin": "query", "query_line": origin.draft.line}
        elif origin.kind == "call":
            found = {"origin": "call", "callee": origin.callee, "call_line": origin.line}
        elif origin.kind == "attr" and origin.base is not None:
            base = origin.base
            if base.kind == "row" and base.draft is not None and base.scalar:
                found = {"origin": "relationship", "attribute": origin.attribute,
                             "base_origin": "query", "query_line": base.draft.line}
            elif base.kind == "callrow":
                found = {"origin": "relationship", "attribute": origin.attribute,
                             "base_origin": "call", "callee": base.callee, "call_line": base.line}
            else:
                return None
        else:
            return None
        return RowLoop(**common, **found, reads=tuple(reads_of(target, body)))

    # -- expressions ---------------------------------------------------------------------
    def expr(self, node: ast.AST | None) -> _Bind | None:
        if node is None:
            return None
        if isinstance(node, ast.Await):
            bound = self.expr(node.value)
            if bound is not None and bound.draft is not None and bound.draft.executed_line == node.value.lineno:
                bound.draft.awaited = True
            return bound
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Constant):
            return None  # the commonest leaf: no need to look for children
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            if node.attr == "query" and is_model_ref(node.value):
                return self.new_draft("query", node, [node.value])
            base = self.expr(node.value)
            if base is not None and base.kind in ("row", "callrow", "relrow"):
                return _Bind("attr", base=base, attribute=node.attr, line=node.lineno)
            return None
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            self.comprehension(node)
            return None
        if isinstance(node, ast.Lambda):
            return None
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.expr(child)
        return None

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        saved = dict(self.env)
        parts: list[ast.AST] = ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt])
        for index, generator in enumerate(node.generators):
            origin = self.iterated(self.expr(generator.iter), generator.iter)
            later = [*generator.ifs, *node.generators[index + 1:], *parts]
            if isinstance(generator.target, ast.Name):
                loop = self.row_loop(generator.iter.lineno, generator.target.id, origin, later,
                                     source_text(generator.iter), True)
                if loop is not None:
                    self.loops.append(loop)
            self.bind(generator.target, self.row_of(origin) if isinstance(generator.target, ast.Name) else None)
        self.loop_stack.append((node.lineno, set().union(*(self.names_in(g.target) for g in node.generators)), ""))
        try:
            for part in parts:
                self.expr(part)
            for generator in node.generators:
                for test in generator.ifs:
                    self.expr(test)
        finally:
            self.loop_stack.pop()
            self.env = saved

    def new_draft(self, kind: str, node: ast.AST, entities: list[ast.AST]) -> _Bind:
        draft = _Draft(kind, node.lineno, [v for v in (self.value(e) for e in entities) if v], self.depth)
        for entity in entities:
            draft.names |= self.names_in(entity)
        if entities and is_model_ref(entities[0]):
            draft.primary = dotted_name(entities[0]) or ""
            draft.primary_name = self.resolve(entities[0]) or draft.primary
        self.drafts.append(draft)
        return _Bind("stmt", draft, scalar=kind == "query")

    def call(self, node: ast.Call) -> _Bind | None:
        func = node.func
        callee = dotted_name(func)
        resolved = self.parsed.imports.resolve(callee) if callee else ""
        if resolved in SELECT_FUNCS:
            self.visit_args(node)
            return self.new_draft("select", node, list(node.args))
        if resolved in DML_FUNCS:
            self.visit_args(node)
            return self.new_draft(DML_FUNCS[resolved], node, list(node.args[:1]))
        if isinstance(func, ast.Attribute):
            method = func.attr
            receiver = func.value
            if method == "query" and node.args and SESSION_NAME.search(dotted_name(receiver) or ""):
                self.visit_args(node)
                bound = self.new_draft("query", node, list(node.args))
                bound.draft.session = dotted_name(receiver) or ""
                return bound
            if method in ("get", "get_one") and node.args and is_model_ref(node.args[0]) \
                    and SESSION_NAME.search(dotted_name(receiver) or ""):
                return self.session_get(node, receiver)
            if method in EXECUTE_METHODS and node.args:
                statement = self.expr(node.args[0])
                for extra in [*node.args[1:], *(kw.value for kw in node.keywords)]:
                    self.expr(extra)
                if statement is not None and statement.kind == "stmt":
                    return self.execute(statement.draft, node, receiver, method)
                return None
            base = self.expr(receiver)
            if base is not None and base.kind in ("stmt", "result"):
                return self.method_on(base, node, method)
            if base is not None and base.kind == "call":
                # `repo = Repository(session)`, then `repo.list(...)`: a call whose result
                # the model phase resolves through the call graph.
                self.visit_args(node)
                return _Bind("call", callee=f"{dotted_name(receiver) or 'obj'}.{method}", line=node.lineno)
        if callee and "execute" in callee.rsplit(".", 1)[-1].lower() and node.args:
            # project helpers that run a statement: session_execute(stmt, session)
            bound = [b for b in (self.expr(a) for a in node.args) if b is not None and b.kind == "stmt"]
            if len(bound) == 1:
                others = [a for a in node.args if self.env.get(getattr(a, "id", "")) is not bound[0]]
                receiver = next((a for a in others if SESSION_NAME.search(dotted_name(a) or "")), None)
                return self.execute(bound[0].draft, node, receiver, "execute")
            return _Bind("call", callee=callee, line=node.lineno)
        if callee in ("list", "tuple", "set", "sorted") and len(node.args) == 1 and not node.keywords:
            inner = self.expr(node.args[0])
            if inner is not None and inner.kind in ("rows", "result"):
                if inner.draft is not None and inner.draft.fetch in ("", "result"):
                    inner.draft.fetch = "many"
                return _Bind("rows", inner.draft, inner.scalar)
            return inner if inner is not None and inner.kind == "call" else None
        self.visit_args(node)
        if callee:
            return _Bind("call", callee=callee, line=node.lineno)
        return None

    def visit_args(self, node: ast.Call) -> None:
        for arg in [*node.args, *(kw.value for kw in node.keywords)]:
            self.expr(arg)

    def session_get(self, node: ast.Call, receiver: ast.AST) -> _Bind:
        bound = self.new_draft("get", node, [node.args[0]])
        draft = bound.draft
        for arg in node.args[1:]:
            draft.names |= self.names_in(arg)
        for keyword in node.keywords:
            draft.names |= self.names_in(keyword.value)
            if keyword.arg == "options":
                items = keyword.value.elts if isinstance(keyword.value, (ast.List, ast.Tuple)) else [keyword.value]
                for item in items:
                    draft.eager.extend(self.eager_loads(item))
        self.executed(draft, node, receiver)
        draft.fetch, draft.scalar_rows = "one", True
        return _Bind("row", draft, True)

    def execute(self, draft: _Draft, node: ast.Call, receiver: ast.AST, method: str) -> _Bind:
        self.executed(draft, node, receiver)
        for arg in node.args[1:]:
            draft.names |= self.names_in(arg)
        single = len(draft.entities) == 1 and draft.primary != ""
        if method in EXECUTE_SCALAR:
            draft.fetch, draft.scalar_rows = "one", True
            return _Bind("row", draft, True)
        if method in EXECUTE_SCALARS:
            draft.fetch, draft.scalar_rows = draft.fetch or "result", True
            return _Bind("result", draft, True)
        # session.exec(select(Model)) (SQLModel) yields instances for a single entity.
        scalar = method == "exec" and single
        draft.fetch = draft.fetch or "result"
        draft.scalar_rows = draft.scalar_rows or scalar
        return _Bind("result", draft, scalar)

    def executed(self, draft: _Draft, node: ast.Call, receiver: ast.AST | None) -> None:
        draft.executed_line = node.lineno
        draft.session = dotted_name(receiver) if receiver is not None else draft.session
        draft.session = draft.session or ""
        if self.loop_stack:
            line, _, iterable = self.loop_stack[-1]
            draft.in_loop, draft.loop_line, draft.loop_iterable = True, line, iterable
            targets = set().union(*(t for _, t, _ in self.loop_stack))
            draft.uses_loop_var = bool(targets & (draft.names | self.names_in(node)))

    def method_on(self, base: _Bind, node: ast.Call, method: str) -> _Bind | None:
        draft = base.draft
        if base.kind == "stmt" and draft is not None:
            if method in CHAIN_METHODS:
                self.visit_args(node)
                self.add_part(draft, node, method)
                return base
            if draft.kind == "query":
                self.visit_args(node)
                if method in QUERY_RUNS:
                    self.executed(draft, node, None)
                    if method in QUERY_MANY:
                        draft.fetch = "many"
                        return _Bind("rows", draft, True)
                    draft.fetch = "count" if method in QUERY_COUNT else "one"
                    return _Bind("row", draft, True) if method in QUERY_ONE else None
            return None
        if base.kind == "result" and draft is not None:
            self.visit_args(node)
            if method in RESULT_SAME:
                if method == "scalars":
                    draft.scalar_rows = True
                return _Bind("result", draft, base.scalar or method == "scalars")
            if method in RESULT_MANY:
                draft.fetch = "many"
                return _Bind("rows", draft, base.scalar)
            if method in RESULT_ONE:
                if draft.fetch in ("", "result"):
                    draft.fetch = "one"
                if method.startswith("scalar"):
                    draft.scalar_rows = True
                return _Bind("row", draft, base.scalar or method.startswith("scalar"))
            return None
        return None

    def add_part(self, draft: _Draft, node: ast.Call, method: str) -> None:
        conditional = self.depth > draft.depth
        condition = next((c for c in reversed(self.conditions) if c), "") if conditional else ""
        args = tuple(v for v in (self.value(a) for a in node.args) if v)
        keywords = tuple((kw.arg or "**", self.value(kw.value) or Value("other")) for kw in node.keywords)
        draft.parts.append(StatementPart(method, node.lineno, args, keywords, conditional, condition))
        draft.names |= self.names_in(node) - self.names_in(node.func)
        if method in ("where", "filter", "having"):
            for arg in node.args:
                draft.filters.extend(self.filters_of(arg, method))
        elif method == "filter_by" and draft.primary:
            for kw in node.keywords:
                if kw.arg:
                    ref = ColumnRef(draft.primary, draft.primary_name, kw.arg, kw.value.lineno)
                    draft.filters.append(Filter(ref, "eq", "filter_by", self.value(kw.value)))
        elif method == "order_by":
            for arg in node.args:
                draft.filters.extend(self.order_of(arg))
        elif method in ("join", "outerjoin"):
            self.join(draft, node, method)
        elif method == "options":
            for arg in node.args:
                draft.eager.extend(self.eager_loads(arg))

    def join(self, draft: _Draft, node: ast.Call, method: str) -> None:
        args = list(node.args)
        if args and is_model_ref(args[0]):
            # filter_by() after join(Target) filters the joined entity
            draft.primary = dotted_name(args[0]) or draft.primary
            draft.primary_name = self.resolve(args[0]) or draft.primary
        for arg in args:
            ref = self.column_ref(arg)
            if ref is not None:
                # join(Anime.favorites): a relationship path (a column is never a join target)
                draft.filters.append(Filter(ref, "join", "join"))
            else:
                draft.filters.extend(self.filters_of(arg, "join"))

# -- module entry -----------------------------------------------------------------------------
def analyse(parsed) -> ModuleQueries:
    """Statements and row loops of one module; kept on the tree for the module being
    summarised (orm_queries and orm_loops both ask). Kept on the tree rather than in a
    global so that the previous module's tree is not held (and freed) here."""
    cached = getattr(parsed.tree, "_prodaudit_orm", None)
    if cached is not None:
        return cached
    result = _analyse(parsed)
    parsed.tree._prodaudit_orm = result
    return result


# The gates give exactly the answers of MODULE_GATE and FUNCTION_GATE, from their literals
# (a search for a pattern led by \b or an alternation tries it at every position).
def _worth_walking(parsed, fn: ast.AST) -> bool:
    text = "\n".join(parsed.lines[fn.lineno - 1:fn.end_lineno or fn.lineno])
    if any(literal in text for literal in FUNCTION_GATE_LITERALS):
        return True
    return has_word(text, "for") or any(ends_word(text, at + 5) for at in occurrences(text, "query"))


def _may_use_orm(source: str) -> bool:
    return any(has_word(source, word) for word in MODULE_GATE_WORDS)


def _analyse(parsed) -> ModuleQueries:
    if parsed.kind != "source" or not _may_use_orm(parsed.source):
        return ModuleQueries((), ())
    queries: list[QueryFact] = []
    loops: list[RowLoop] = []
    names_in = _NameSets()
    with source_lines_for_text(parsed.lines):
        # Every function, nested ones and methods included, each walked on its own.
        for fn in parsed.nodes(ast.FunctionDef, ast.AsyncFunctionDef):
            if not _worth_walking(parsed, fn):
                continue
            qualname = parsed.scope_name(fn)
            walk = _FunctionWalk(parsed, qualname, fn, names_in)
            walk.run()
            queries.extend(d.fact(qualname) for d in walk.drafts)
            loops.extend(walk.loops)
    # Stable sorts: facts of one line and function keep the walk's order.
    queries.sort(key=lambda q: (q.line, q.scope))
    loops.sort(key=lambda lp: (lp.line, lp.scope))
    return ModuleQueries(tuple(queries), tuple(loops))


def extract(parsed) -> Iterable[object]:
    return analyse(parsed).queries
