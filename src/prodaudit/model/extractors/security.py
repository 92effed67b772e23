"""Per-module facts the security rules need across files.

- `RoleCheck`: a condition inside a function that tests a role or permission
  (`if not user.is_admin`, `if user_id not in ADMIN_IDS`, `"admin" in user.roles`), so a
  route whose dependency or handler makes such a test is known to check roles.
- `CredentialUrl`: a string literal holding a connection URL with a password in it.
- `SqlBuild`: SQL text built from strings (f-string, `+`, `%`, `.format`) with whether every
  interpolated part is safe (constants, `int()`, identifiers checked against a fixed
  allow-list) and where, in the same function, it is executed.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prodaudit.model.values import dotted_name, source_text

# -- role checks ---------------------------------------------------------------------------
ROLE_WORDS = frozenset({"admin", "admins", "superuser", "superusers", "staff", "moderator",
                        "moderators", "role", "roles", "permission", "permissions", "perm",
                        "perms", "scope", "scopes", "privilege", "privileges", "rbac", "acl"})
_WORD = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class RoleCheck:
    scope: str  # qualname of the enclosing function
    line: int
    text: str


def _identifiers(node: ast.AST) -> Iterator[str]:
    """Names, attribute names and short strings under node (callers use them as a set)."""
    stack = [node]
    while stack:
        child = stack.pop()
        if isinstance(child, ast.Name):
            yield child.id
            continue  # nothing but its ctx below
        if isinstance(child, ast.Constant):
            if isinstance(child.value, str) and len(child.value) < 40:
                yield child.value
            continue
        if isinstance(child, ast.Attribute):
            yield child.attr
        stack.extend(ast.iter_child_nodes(child))


def mentions_role(node: ast.AST) -> bool:
    return any(_has_role_word(name) for name in _identifiers(node))


_ROLE_WORD_SEEN: dict[str, bool] = {}  # the same few identifiers are tested in every condition


def _has_role_word(name: str) -> bool:
    known = _ROLE_WORD_SEEN.get(name)
    if known is None:
        known = any(w.lower() in ROLE_WORDS for w in _WORD.split(name) if w)
        if len(_ROLE_WORD_SEEN) > 50_000:  # bound the memory on very large audits
            _ROLE_WORD_SEEN.clear()
        _ROLE_WORD_SEEN[name] = known
    return known


# -- credentials in URLs ------------------------------------------------------------------
# scheme://user:password@host, and scheme://:password@host (redis).
CREDENTIAL_URL = re.compile(
    r"\b(?P<scheme>[a-z][a-z0-9+.-]{1,30})://(?P<user>[^\s:/@'\"{}$%<>]*):(?P<password>[^\s/@'\"]+)@"
    r"(?P<host>[^\s/:'\"?#]+)", re.IGNORECASE)
# Schemes whose userinfo is a service credential (not http basic auth of a public doc URL).
CREDENTIAL_SCHEMES = re.compile(
    r"^(postgres(ql)?|mysql|mariadb|mssql|oracle|sqlite|redis|rediss|amqp|amqps|mongodb|"
    r"mongodb\+srv|clickhouse|cockroachdb|kafka|nats|ftp|sftp|smtp|smtps|https?)([+][a-z0-9_]+)?$", re.IGNORECASE)
# Values that stand for a password rather than being one: templates and placeholders.
TEMPLATE_PASSWORD = re.compile(r"[{}$%<>*]|^(password|pass|pwd|secret|x+|\.\.\.|postgres|root|admin|changeme|"
                               r"test|dev|user|guest|example|mysql|redis)$", re.IGNORECASE)


@dataclass(frozen=True)
class CredentialUrl:
    scope: str
    line: int
    scheme: str
    user: str
    host: str
    masked: str  # the URL with the password replaced by ***
    placeholder: bool  # the password is a word like "password": a template, still a default


def credential_urls(text: str) -> Iterator[re.Match]:
    for match in CREDENTIAL_URL.finditer(text):
        if not CREDENTIAL_SCHEMES.match(match.group("scheme")):
            continue
        if re.search(r"[{}$%<>]", match.group("password")):
            continue  # a template filled at run time: postgresql://{user}:{password}@...
        yield match


def mask(match: re.Match) -> str:
    return f"{match.group('scheme')}://{match.group('user')}:***@{match.group('host')}"


# -- string-built SQL -------------------------------------------------------------------------
SQL_TEXT = re.compile(
    r"\b(select\s[\s\S]*?\sfrom\s|delete\s+from\s|insert\s+into\s|update\s+\S+\s+set\s|"
    r"(where|order\s+by|group\s+by|having)\s+\S|drop\s+table\s|truncate\s)", re.IGNORECASE)
TEXT_FUNCS = frozenset({"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text",
                        "sqlmodel.text"})
EXECUTE_METHODS = frozenset({"execute", "executemany", "exec_driver_sql", "executescript",
                             "fetch", "fetchrow", "fetchval", "fetch_all", "fetch_one", "fetch_val",
                             "raw", "mogrify", "copy_expert"})
SAFE_CALLS = frozenset({"int", "float", "bool", "len", "abs", "round", "uuid.UUID", "str.isdigit"})
PLACEHOLDER = re.compile(r"^\s*(\?|%s|:\w+|\$\d+|,|\s)*\s*$")
# Parameters typed like this cannot carry SQL text (FastAPI validates them at the edge; a
# caller passing a str to an int parameter is a type error the rest of the code would hit).
SAFE_ANNOTATION = re.compile(r"^(Optional\[)?(int|float|bool|UUID|uuid\.UUID|date|datetime|"
                             r"datetime\.date|datetime\.datetime|Decimal|Literal\[.*\])\]?( \| None)?$")
# A file that never says any of these has no SQL to analyse.
SQL_HINT = re.compile(r"select|insert|update|delete|where|order by|text\(|execute|fetch", re.IGNORECASE)
SQL_HINT_WORDS = ("select", "insert", "update", "delete", "where", "order by", "text(", "execute", "fetch")


@dataclass(frozen=True)
class SqlBuild:
    scope: str
    line: int  # where the string is built (ruff S608 reports this line)
    line_text: str  # that line, stripped: the ruff bridge identifies lines by their text
    safe: bool
    unsafe_parts: tuple[str, ...]  # source text of the interpolated values that are not safe
    sink_line: int = 0  # where it is executed, 0 when not seen in the same function
    sink: str = ""  # "text()", "session.execute()"
    via: str = ""  # the local variable it travels through, "" when built in the call


# Nodes that open a scope of their own: what is under them belongs to none of the
# enclosing function's names (ClassDef and Lambda bodies are no function's own code here).
_SCOPE_OWNERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


class _OwnNodes:
    """The nodes a `_SqlScope` reads, grouped by the function (or module body) whose own
    code holds them, from the module's shared node lists: one pass for the module instead
    of a walk of every function that builds a string. A node belongs to the nearest
    function, lambda or class above it (decorators and defaults included); nodes under a
    lambda or a class body belong to nobody, nodes under none of them to the module."""

    def __init__(self, parsed):
        self.parsed = parsed
        self._owner_ids: dict[int, int | None] = {}  # id(node) -> id(owner), None for nobody
        self.assignments: dict[int, list[ast.stmt]] = {}  # id(owner) -> Assign/AnnAssign/AugAssign
        self.loops: dict[int, list[ast.AST]] = {}  # For, AsyncFor, comprehension
        self.membership_tests: dict[int, list[ast.Compare]] = {}
        index = parsed.node_index()
        # Source order, newest first: the order a walk that pops the last child first met
        # them in (assignments never contain one another), which `constant_text` of an
        # augmented name depends on.
        for node in reversed(parsed.nodes(ast.Assign, ast.AugAssign, ast.AnnAssign)):
            self._add(self.assignments, node)
        for kind in (ast.For, ast.AsyncFor, ast.comprehension):
            for node in index.get(kind, ()):
                self._add(self.loops, node)
        for node in index.get(ast.Compare, ()):
            if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) \
                    and isinstance(node.left, ast.Name):
                self._add(self.membership_tests, node)

    def _add(self, groups: dict[int, list], node: ast.AST) -> None:
        owner = self._owner_id(node)
        if owner is not None:
            groups.setdefault(owner, []).append(node)

    def _owner_id(self, node: ast.AST) -> int | None:
        parent = self.parsed.parent
        current = parent(node)
        while current is not None and not isinstance(current, (*_SCOPE_OWNERS, ast.Module)):
            current = parent(current)
        if current is None:
            return None
        if isinstance(current, (ast.ClassDef, ast.Lambda)):
            return None
        return id(current)


class _SqlScope:
    """One function (or the module body): what its names are bound to and tested against."""

    def __init__(self, parsed, body_owner: ast.AST, scope: str, module_constants: dict[str, ast.expr],
                 own: _OwnNodes, class_constants: Callable[[], frozenset[str]] = frozenset):
        self.parsed = parsed
        self.scope = scope
        self.owner = body_owner
        self.module_constants = module_constants
        self.class_constants = class_constants
        self.bindings: dict[str, list[ast.expr]] = {}
        self.allow_listed: set[str] = set()
        self.literal_params: set[str] = set()
        self.loop_targets: set[str] = set()
        if isinstance(body_owner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in [*body_owner.args.posonlyargs, *body_owner.args.args, *body_owner.args.kwonlyargs]:
                if arg.annotation is not None and SAFE_ANNOTATION.match(source_text(arg.annotation)):
                    self.literal_params.add(arg.arg)
        key = id(body_owner)
        for node in own.assignments.get(key, ()):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.bindings.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.bindings.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                self.bindings.setdefault(node.target.id, []).append(
                    ast.BinOp(left=ast.Name(node.target.id), op=node.op, right=node.value))
        for node in own.loops.get(key, ()):
            for name in ast.walk(node.target):
                if isinstance(name, ast.Name):
                    self.loop_targets.add(name.id)
        for node in own.membership_tests.get(key, ()):
            if self.is_constant_collection(node.comparators[0]):
                # `if col not in ALLOWED: raise` / `assert col in {"a", "b"}`
                self.allow_listed.add(node.left.id)

    def is_constant_collection(self, node: ast.expr) -> bool:
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return all(isinstance(e, ast.Constant) for e in node.elts)
        if isinstance(node, ast.Dict):
            return all(isinstance(k, ast.Constant) for k in node.keys if k is not None)
        if isinstance(node, ast.Call) and dotted_name(node.func) in ("frozenset", "set", "tuple", "list") \
                and len(node.args) == 1:
            return self.is_constant_collection(node.args[0])
        if isinstance(node, ast.Name):
            bound = self.module_constants.get(node.id)
            return bound is not None and self.is_constant_collection(bound)
        # SomeClass.ALLOWED_COLUMNS: a class constant
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.isupper()

    def constant_text(self, node: ast.expr, depth: int = 0) -> str:
        """The literal text of a string expression, with unknown parts as spaces."""
        if depth > 4:
            return " "
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(self.constant_text(v, depth + 1) if isinstance(v, ast.Constant) else " "
                           for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            return self.constant_text(node.left, depth + 1) + (
                self.constant_text(node.right, depth + 1) if isinstance(node.op, ast.Add) else " ")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return self.constant_text(node.func.value, depth + 1)
        if isinstance(node, ast.Name):
            values = self.bindings.get(node.id) or ([self.module_constants[node.id]]
                                                    if node.id in self.module_constants else [])
            if len(values) == 1:
                return self.constant_text(values[0], depth + 1)
        return " "

    def interpolated(self, node: ast.expr) -> list[ast.expr] | None:
        """The non-literal parts of a string build, or None when `node` is not one."""
        if isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
            return parts or None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and self._stringy(node.left):
            right = node.right
            return list(right.elts) if isinstance(right, ast.Tuple) else (
                list(right.values) if isinstance(right, ast.Dict) else [right])
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (
                self._stringy(node.left) or self._stringy(node.right)):
            parts: list[ast.expr] = []
            for side in (node.left, node.right):
                inner = self.interpolated(side)
                if inner is not None:
                    parts.extend(inner)
                elif not (isinstance(side, ast.Constant) or self._constant_name(side)):
                    parts.append(side)
            return parts or None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format" \
                and self._stringy(node.func.value):
            return [*node.args, *(k.value for k in node.keywords)] or None
        return None

    def _stringy(self, node: ast.expr) -> bool:
        return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(node, ast.JoinedStr) \
            or (isinstance(node, ast.BinOp) and (self._stringy(node.left) or self._stringy(node.right))) \
            or self._constant_name(node)

    def _constant_name(self, node: ast.expr) -> bool:
        if not isinstance(node, ast.Name):
            return False
        values = self.bindings.get(node.id) or ([self.module_constants[node.id]]
                                                if node.id in self.module_constants else [])
        return bool(values) and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in values)

    def is_safe(self, node: ast.expr, depth: int = 0) -> bool:
        """An interpolated value that cannot carry attacker text."""
        if depth > 4:
            return False
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.Call):
            name = dotted_name(node.func) or ""
            if name in SAFE_CALLS:
                return True
            if isinstance(node.func, ast.Attribute) and node.func.attr == "join":
                # ", ".join(["%s"] * n) / ",".join(f":id{i}" for i in ...): bound-parameter markers
                return self._placeholder_list(node.args[0] if node.args else None)
            # ALLOWED.get(sort, "id")
            return isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
                self.is_constant_collection(node.func.value)
        if isinstance(node, ast.Subscript) and self.is_constant_collection(node.value):
            return True  # SORT_COLUMNS[sort]
        if isinstance(node, ast.Attribute):
            if node.attr in ("__tablename__", "__name__", "name", "key") and isinstance(node.value, (ast.Name, ast.Attribute)) \
                    and (dotted_name(node.value) or "").split(".")[-1][:1].isupper():
                return True  # Model.__tablename__, Column.name
            if node.attr == "value" and isinstance(node.value, ast.Name) and node.value.id in self.literal_params:
                return True
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls") and \
                    node.attr in self.class_constants():
                return True  # cls._threshold, declared `_threshold: ClassVar[float] = 0.5`
            return node.attr.isupper() and isinstance(node.value, ast.Name)  # Class.CONSTANT
        if isinstance(node, ast.Name):
            if node.id in self.allow_listed or node.id in self.literal_params:
                return True
            if node.id.isupper() and node.id in self.module_constants:
                return True
            if node.id in self.loop_targets and node.id not in self.bindings:
                return False
            values = self.bindings.get(node.id, [])
            return bool(values) and all(self.is_safe(v, depth + 1) or self._placeholder_list(v) or
                                        (self.interpolated(v) is not None and
                                         all(self.is_safe(p, depth + 1) for p in self.interpolated(v) or []))
                                        for v in values)
        if isinstance(node, ast.IfExp):
            return self.is_safe(node.body, depth + 1) and self.is_safe(node.orelse, depth + 1)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            return self.is_safe(node.left, depth + 1) and self.is_safe(node.right, depth + 1)
        return False

    def _placeholder_list(self, node: ast.expr | None, loop_names: frozenset[str] = frozenset()) -> bool:
        """Bound-parameter markers: `["%s"] * len(ids)`, `(f":id{i}" for i in range(n))`,
        `"?" * n`, `", ".join(...)` of those."""
        if node is None:
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
            return self._placeholder_list(node.args[0] if node.args else None, loop_names)
        if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
            targets = frozenset(n.id for gen in node.generators for n in ast.walk(gen.target)
                                if isinstance(n, ast.Name))
            return self._placeholder_list(node.elt, loop_names | targets)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return self._placeholder_list(node.left, loop_names) or self._placeholder_list(node.right, loop_names)
        if isinstance(node, (ast.List, ast.Tuple)):
            return bool(node.elts) and all(self._placeholder_list(e, loop_names) for e in node.elts)
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str) and bool(PLACEHOLDER.match(node.value))
        if isinstance(node, ast.JoinedStr):
            return all(self._placeholder_list(v, loop_names) for v in node.values)
        if isinstance(node, ast.FormattedValue):
            return isinstance(node.value, ast.Name) and node.value.id in loop_names
        return False


def _class_constants(parsed) -> frozenset[str]:
    """Class attributes that only ever hold a number, a bool or a literal string: every
    class-level assignment of the name in the module is such a constant (or is annotated
    int/float/bool...), and no `obj.name = ...` rebinds it anywhere in the module."""
    safe: dict[str, bool] = {}
    stored = {node.attr for node in parsed.nodes(ast.Attribute) if isinstance(node.ctx, ast.Store)}
    for node in parsed.nodes(ast.ClassDef):
        for statement in node.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Name):
                name, value, annotation = statement.targets[0].id, statement.value, None
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                name, value, annotation = statement.target.id, statement.value, statement.annotation
            else:
                continue
            constant = isinstance(value, ast.Constant) and isinstance(value.value, (int, float, str)) \
                and value.value is not None
            annotated = annotation is not None and SAFE_ANNOTATION.match(
                _without_classvar(source_text(annotation))) is not None
            safe[name] = safe.get(name, True) and (constant or annotated)
    return frozenset(name for name, ok in safe.items() if ok and name not in stored)


def _without_classvar(annotation: str) -> str:
    for prefix in ("ClassVar[", "typing.ClassVar[", "Final[", "typing.Final["):
        if annotation.startswith(prefix) and annotation.endswith("]"):
            return annotation[len(prefix):-1]
    return annotation


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _sink_of(parsed, call: ast.Call) -> str | None:
    func = call.func
    resolved = parsed.resolve(func)
    if resolved in TEXT_FUNCS or (isinstance(func, ast.Name) and func.id == "text" and resolved == "text"):
        return "text()"
    if isinstance(func, ast.Attribute) and func.attr in EXECUTE_METHODS:
        receiver = dotted_name(func.value) or "<expr>"
        return f"{receiver}.{func.attr}()"
    return None


def _is_build(node: ast.AST) -> bool:
    """Cheap syntactic test before any scope analysis: an f-string with a value, a `+`/`%`
    on something, or a `.format()` call."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Mod))
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _may_hold_sql(source: str) -> bool:
    """SQL_HINT.search(source), by substring tests on the lower-cased text when it is ASCII
    (the same match then: no letter folds to an ASCII one), several times cheaper."""
    if source.isascii():
        lowered = source.lower()
        return any(word in lowered for word in SQL_HINT_WORDS)
    return SQL_HINT.search(source) is not None


def sql_builds(parsed) -> list[SqlBuild]:
    if not _may_hold_sql(parsed.source):
        return []
    tree = parsed.tree
    module_constants = _module_constants(tree)
    # Built on first need: only `cls.x`/`self.x` values in built SQL ask.
    class_constants = functools.cache(lambda: _class_constants(parsed))
    contexts: dict[int, _SqlScope] = {}
    own_nodes: list[_OwnNodes] = []  # made on first need: most modules build no string
    sinks: dict[int, tuple[ast.Call, str]] = {}  # id(argument) -> (call, sink)
    used_names: dict[tuple[int, str], tuple[ast.Call, str]] = {}  # (id(owner), name) -> sink

    def owner_of(node: ast.AST) -> ast.AST:
        return parsed.enclosing_function(node) or tree

    def context(owner: ast.AST) -> _SqlScope:
        if id(owner) not in contexts:
            if not own_nodes:
                own_nodes.append(_OwnNodes(parsed))
            scope = parsed.scope_name(owner) if owner is not tree else ""
            contexts[id(owner)] = _SqlScope(parsed, owner, scope, module_constants, own_nodes[0],
                                            class_constants)
        return contexts[id(owner)]

    for call in parsed.nodes(ast.Call):
        if not call.args:
            continue
        sink = _sink_of(parsed, call)
        if sink is None:
            continue
        first = call.args[0]
        if isinstance(first, ast.Call) and _sink_of(parsed, first) == "text()" and first.args:
            first, sink = first.args[0], "text()"
        sinks[id(first)] = (call, sink)
        if isinstance(first, ast.Name):
            used_names.setdefault((id(owner_of(call)), first.id), (call, sink))
    out: list[SqlBuild] = []
    for node in parsed.nodes(ast.JoinedStr, ast.BinOp, ast.Call):
        if not _is_build(node):
            continue
        parent = parsed.parent(node)
        if isinstance(parent, (ast.BinOp, ast.JoinedStr, ast.FormattedValue)):
            continue  # the outermost build is the one recorded
        owner = owner_of(node)
        ctx = context(owner)
        parts = ctx.interpolated(node)
        if parts is None:
            continue
        via = ""
        if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and parent.value is node:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                via = targets[0].id
        direct = sinks.get(id(node))
        reached = direct or (used_names.get((id(owner), via)) if via else None)
        text = ctx.constant_text(node)
        if isinstance(parent, ast.AugAssign) and via:
            text = " ".join(ctx.constant_text(v) for v in ctx.bindings.get(via, [])) + text
        if not SQL_TEXT.search(text) and (reached is None or reached[1] != "text()"):
            continue  # not SQL, or .execute() of something that is not SQL text (a command, a job)
        unsafe = tuple(source_text(p) for p in parts if not ctx.is_safe(p))
        call, sink = reached if reached else (None, "")
        out.append(SqlBuild(ctx.scope, node.lineno, parsed.line_text(node.lineno), not unsafe, unsafe,
                            call.lineno if call is not None else 0, sink, "" if direct else via))
    return out


def role_checks(parsed) -> list[RoleCheck]:
    out = []
    for node in parsed.nodes(ast.If, ast.While, ast.IfExp, ast.Assert):
        fn = parsed.enclosing_function(node)
        if fn is None or not mentions_role(node.test):
            continue
        out.append(RoleCheck(parsed.scope_name(fn), node.test.lineno, source_text(node.test)[:120]))
    return out


def credential_url_facts(parsed) -> list[CredentialUrl]:
    out = []
    for node in parsed.nodes(ast.Constant):
        if not isinstance(node.value, str) or "://" not in node.value or "@" not in node.value:
            continue
        fn = parsed.enclosing_function(node)
        scope = parsed.scope_name(fn) if fn is not None else ""
        for match in credential_urls(node.value):
            password = match.group("password")
            out.append(CredentialUrl(scope, node.lineno, match.group("scheme").lower(), match.group("user"),
                                     match.group("host"), mask(match),
                                     bool(TEMPLATE_PASSWORD.search(password))))
    return out


# -- secrets a startup check rejects ----------------------------------------------------------
VALIDATOR_DECORATORS = frozenset({"field_validator", "validator", "model_validator", "root_validator"})


@dataclass(frozen=True)
class CheckedSecret:
    """A literal setting default that the same module rejects at startup: a validator of
    its class names the field, or a comparison with the literal mentions the name."""

    line: int
    line_text: str  # the ruff bridge identifies lines by their text
    name: str


def _literal_default(value: ast.expr | None) -> str | None:
    if isinstance(value, ast.Call):
        func = dotted_name(value.func) or ""
        if func.rsplit(".", 1)[-1] == "Field":
            default = next((k.value for k in value.keywords if k.arg == "default"), None)
            value = default if default is not None else (value.args[0] if value.args else None)
        elif func in ("os.getenv", "os.environ.get", "getenv") and len(value.args) > 1:
            value = value.args[1]
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None


def checked_secrets(parsed) -> list[CheckedSecret]:
    compared: set[tuple[str, str]] = set()  # (name, literal) compared anywhere in the module
    compare_lines: dict[tuple[str, str], list[int]] = {}
    for node in parsed.nodes(ast.Compare):
        operands = [node.left, *node.comparators]
        literals = [o.value for o in operands if isinstance(o, ast.Constant) and isinstance(o.value, str)]
        literals += [e.value for o in operands if isinstance(o, (ast.Tuple, ast.List, ast.Set))
                     for e in o.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if not literals:
            continue  # no string compared: no pair, and no walk of the operands for names
        names = [n.attr if isinstance(n, ast.Attribute) else n.id for o in operands for n in ast.walk(o)
                 if isinstance(n, (ast.Name, ast.Attribute))]
        for pair in ((name, literal) for name in names for literal in literals):
            compared.add(pair)
            compare_lines.setdefault(pair, []).append(node.lineno)
    out = []
    defaults: set[tuple[str, str]] = set()
    for cls in parsed.nodes(ast.ClassDef):
        validated: set[str] = set()
        for fn in cls.body:
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for deco in fn.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                kind = (dotted_name(target) or "").rsplit(".", 1)[-1]
                if kind in ("field_validator", "validator") and isinstance(deco, ast.Call):
                    validated.update(a.value for a in deco.args if isinstance(a, ast.Constant))
                elif kind in ("model_validator", "root_validator"):
                    validated.update(_identifiers(fn))
        for stmt in cls.body:
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else (
                stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None)
            if not isinstance(target, ast.Name):
                continue
            literal = _literal_default(stmt.value)
            if literal:
                defaults.add((target.id, literal))
            if literal and (target.id in validated or (target.id, literal) in compared):
                out.append(CheckedSecret(stmt.lineno, parsed.line_text(stmt.lineno), target.id))
    for stmt in parsed.tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            target = stmt.target if isinstance(stmt, ast.AnnAssign) else stmt.targets[0]
            literal = _literal_default(stmt.value)
            if isinstance(target, ast.Name) and literal:
                defaults.add((target.id, literal))
                if (target.id, literal) in compared:
                    out.append(CheckedSecret(stmt.lineno, parsed.line_text(stmt.lineno), target.id))
    # The comparisons themselves (`if settings.secret == "changeme": raise`) hold no secret.
    for pair in defaults & compared:
        for line in compare_lines.get(pair, []):
            out.append(CheckedSecret(line, parsed.line_text(line), pair[0]))
    return out


def extract(parsed) -> list[object]:
    if parsed.kind not in ("source", "test", "migration"):
        return []
    return [*role_checks(parsed), *credential_url_facts(parsed), *sql_builds(parsed), *checked_secrets(parsed)]
