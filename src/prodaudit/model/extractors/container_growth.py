"""How long-lived containers grow and what bounds them, beyond the generic mutation facts.

MutationFact says *that* `self._users[...]` is written; whether that makes the container
grow depends on the key: `_state["last_run"] = now` rewrites one entry, `_seen[user_id] =
now` adds one per user, `_jobs[uuid4().hex] = job` one per call. A size check
(`if len(self._items) > 1000:`) is how hand-written eviction usually starts, and
`self._hits[key] = [t for t in self._hits[key] if t > cutoff]` trims what one key holds.
Only state that outlives the call is recorded (self/cls attributes and non-local names).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.model.extractors._async_flow import body_nodes, by_function, local_names
from prodaudit.model.values import Value, dotted_name, to_value

# Methods that add to a container (the list under a key, a set): growth, not a read.
GROWING_METHODS = frozenset({"append", "appendleft", "extend", "extendleft", "insert", "add", "update",
                             "setdefault", "__setitem__"})
# Text that can hold a keyed write or a size comparison, checked before the tree is indexed.
SOURCE_HINT = re.compile(r"\]\s*(?:[-+*]?=)[^=]|\.setdefault\(|\]\.\w+\(|len\([^\n]*[<>]|[<>]=?\s*len\(")
# SOURCE_HINT in parts, each searched only when its literal is in the text (see _may_grow).
KEYED_HINT = re.compile(r"\](?:\s*(?:[-+*]?=)[^=]|\.\w+\()")
LEN_THEN_COMPARISON = re.compile(r"len\([^\n]*[<>]")
COMPARISON_THEN_LEN = re.compile(r"[<>]=?\s*len\(")
# Calls whose result is new on every call: a key built from them never repeats.
FRESH_PREFIXES = ("uuid.", "secrets.token", "itertools.count", "os.urandom")
FRESH_CALLS = {"time.time", "time.monotonic", "time.time_ns", "time.perf_counter",
               "time.monotonic_ns", "datetime.datetime.now", "datetime.datetime.utcnow", "id",
               "next"}


@dataclass(frozen=True)
class KeyedWrite:
    scope: str
    root: str  # "self._users", "_sessions"
    line: int
    how: str  # setitem, augassign, setdefault, call:append (on root[key])...
    key: Value | None
    key_fresh: bool  # built from uuid4()/time()/secrets in this function: new on every call
    trims: bool  # the value re-reads root[key] through a slice or a filter: it bounds that entry


@dataclass(frozen=True)
class SizeCheck:
    """`len(root) > n` (or <, >=, <=): the container's size is watched somewhere."""

    scope: str
    root: str
    line: int


def _root_and_key(node: ast.AST) -> tuple[str | None, ast.AST | None]:
    """`self._x[a][b]` -> ("self._x", a): the container and its own key."""
    key = None
    while isinstance(node, ast.Subscript):
        key = node.slice
        node = node.value
    return dotted_name(node), key


def _shared(root: str, bound: set[str], declared: set[str]) -> bool:
    head = root.split(".")[0]
    if head in ("self", "cls"):
        return "." in root
    return head in declared or head not in bound


def extract(parsed) -> list[object]:
    if not _may_grow(parsed.source):
        return []  # no keyed write or size check; do not pay for the node index
    facts: list[object] = []
    resolve = parsed.imports.resolve
    candidates = [n for n in parsed.nodes(ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Call, ast.Compare)
                  if _is_candidate(n)]
    for fn, nodes in by_function(parsed, candidates):
        scope = parsed.scope_name(fn)
        if not scope:
            continue
        bound, declared = local_names(fn)
        assigned = _local_values(fn)
        for node in nodes:
            for root, key, how, value in _writes(node):
                if root is None or not _shared(root, bound, declared):
                    continue
                facts.append(KeyedWrite(
                    scope, root, node.lineno, how, to_value(key, resolve) if key is not None else None,
                    key is not None and _fresh(parsed, key, assigned, 0),
                    value is not None and _trims(value, root, assigned)))
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    if _is_len(side):
                        root, _ = _root_and_key(side.args[0])
                        if root and _shared(root, bound, declared):
                            facts.append(SizeCheck(scope, root, node.lineno))
    return facts


def _may_grow(source: str) -> bool:
    """SOURCE_HINT.search(source): its alternatives need "]", ".setdefault(" or "len(", and
    searched apart, those led by a literal are found many times faster."""
    if ".setdefault(" in source:
        return True
    if "]" in source and KEYED_HINT.search(source):
        return True
    return "len(" in source and (LEN_THEN_COMPARISON.search(source) is not None
                                 or COMPARISON_THEN_LEN.search(source) is not None)


def _is_len(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len" \
        and bool(node.args)


def _is_candidate(node: ast.AST) -> bool:
    if isinstance(node, ast.Compare):
        return any(isinstance(op, (ast.Gt, ast.GtE, ast.Lt, ast.LtE)) for op in node.ops) and any(
            _is_len(side) for side in (node.left, *node.comparators))
    return next(_writes(node), None) is not None


def _writes(node: ast.AST):
    """(root, key, how, value) for keyed writes made by this node."""
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        how = "augassign" if isinstance(node, ast.AugAssign) else "setitem"
        for target in targets:
            if isinstance(target, ast.Subscript):
                root, key = _root_and_key(target)
                yield root, key, how, node.value
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        if node.func.attr == "setdefault" and node.args:
            root, _ = _root_and_key(receiver)
            if not isinstance(receiver, ast.Subscript):
                yield root, node.args[0], "setdefault", None
        elif isinstance(receiver, ast.Subscript) and node.func.attr in GROWING_METHODS:
            root, key = _root_and_key(receiver)
            yield root, key, f"call:{node.func.attr}", None
        elif isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Attribute) \
                and receiver.func.attr == "setdefault" and receiver.args:
            # `root.setdefault(key, []).append(x)`: the list under key grows.
            root, _ = _root_and_key(receiver.func.value)
            yield root, receiver.args[0], f"call:{node.func.attr}", None


def _local_values(fn: ast.AST) -> dict[str, list[ast.AST]]:
    values: dict[str, list[ast.AST]] = {}
    for node in body_nodes(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
    return values


def _fresh(parsed, expr: ast.AST, assigned: dict[str, list[ast.AST]], depth: int) -> bool:
    if depth > 3:
        return False
    for node in ast.walk(expr):
        if isinstance(node, ast.Call):
            name = parsed.resolve(node.func)
            if name.startswith(FRESH_PREFIXES) or name in FRESH_CALLS:
                return True
        elif isinstance(node, ast.Name) and node.id in assigned \
                and all(_fresh(parsed, value, assigned, depth + 1) for value in assigned[node.id]):
            return True
    return False


def _trims(value: ast.AST, root: str, assigned: dict[str, list[ast.AST]], depth: int = 0) -> bool:
    """`root[k][-50:]`, `[t for t in root[k] if ...]`, also through a local (`recent = [...]`)."""
    for node in ast.walk(value):
        if isinstance(node, ast.Name) and node.id in assigned and depth < 2 \
                and any(_trims(v, root, assigned, depth + 1) for v in assigned[node.id]):
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice) \
                and _root_and_key(node.value)[0] == root:
            return True
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)) and any(
                gen.ifs and _root_and_key(gen.iter)[0] == root for gen in node.generators):
            return True
    return False
