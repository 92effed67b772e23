"""Attribute read-modify-write on a local object: `user.balance -= price`,
`post.views = post.views + 1`, `book.stock -= quantity` inside a loop.

Recorded with where the object came from (the assignment, parameter or loop that bound
it, and the assignments feeding that one: `stmt = select(User)...`, `result = await
session.execute(stmt)`, `user = result.scalar_one()`), so the project model can tell an ORM
row from any other object without the syntax tree. Whether the function locks the row
(`with_for_update()`, `FOR UPDATE`) before the update is recorded too.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.model.extractors._async_flow import body_nodes, by_function, start
from prodaudit.model.values import Value, source_text, to_value

ROW_LOCK = re.compile(r"with_for_update|for\s+update|with_lockmode|populate_existing\(\)\.with_for", re.IGNORECASE)
MAX_FEEDS = 6
# Text that can hold an update at all, checked before the syntax tree is indexed:
# `x.a += n` / `x.a -= n`, or `x.a = ... x.a ...` on one line. A plain `re` search for
# either costs more than the rest of this extractor (the engine tries every position), so
# each is found through a literal: "+=" / "-=" for the first (matched on the reversed
# text, where the pattern starts with "="), "." for the second (each `.a =` found, the
# full pattern is tried from the start of the word before the dot).
AUGMENTED_UPDATE_REVERSED = re.compile(r"=[-+]\s*\w+\.\w")  # `\w\.\w+\s*[-+]=` backwards
REASSIGNED_UPDATE = re.compile(r"(\b\w+)\.(\w+)\s*=[^\n=][^\n]*\b\1\.\2\b")
ATTRIBUTE_ASSIGNED = re.compile(r"\.\w+\s*=[^\n=]")  # REASSIGNED_UPDATE from its dot on
WORD_CHARACTER = re.compile(r"\w")


@dataclass(frozen=True)
class AttributeUpdate:
    scope: str
    obj: str  # the local name: "user"
    attribute: str  # "balance"
    line: int
    text: str  # "user.balance -= amount"
    origin: str  # assign, param, loop, unknown
    origin_line: int
    source: Value | None  # assignment value or loop iterable
    loop_index: int = -1  # for `for book, qty in lines`: the position of obj in the target
    # Values of the assignments that feed `source` (statement, result, ...), nearest first.
    feeds: tuple[Value, ...] = ()
    row_locked: bool = False  # with_for_update / FOR UPDATE earlier in the function
    # The parameter's annotation: of obj itself ("param"), or of the parameter a loop iterates.
    annotation: Value | None = None


def extract(parsed) -> list[AttributeUpdate]:
    if not _may_hold_update(parsed.source):
        return []  # no `x.a += ...` / `x.a = x.a ...`; do not pay for the node index
    facts: list[AttributeUpdate] = []
    candidates = [n for n in parsed.nodes(ast.AugAssign, ast.Assign) if _update_of(n) is not None]
    for fn, nodes in by_function(parsed, candidates):
        scope = parsed.scope_name(fn)
        if not scope:
            continue
        updates = [_update_of(node) for node in nodes]
        bindings = _bindings(fn)
        params = {a.arg: a for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
        for node, obj, attribute in updates:
            facts.append(_fact(parsed, fn, scope, node, obj, attribute, bindings, params))
    return facts


def _may_hold_update(source: str) -> bool:
    """Whether `AUGMENTED_UPDATE|REASSIGNED_UPDATE` (forwards) matches somewhere."""
    if ("+=" in source or "-=" in source) and AUGMENTED_UPDATE_REVERSED.search(source[::-1]):
        return True
    position = 0
    while (found := ATTRIBUTE_ASSIGNED.search(source, position)) is not None:
        dot = found.start()
        # REASSIGNED_UPDATE can only start where the run of word characters before the dot
        # starts (`\b\w+` followed by "."); one search from every such place finds them all.
        begin = dot
        while begin > 0 and WORD_CHARACTER.match(source, begin - 1):
            begin -= 1
        if begin < dot and REASSIGNED_UPDATE.match(source, begin):
            return True
        position = dot + 1
    return False


def _update_of(node: ast.AST) -> tuple[ast.stmt, str, str] | None:
    """(statement, object name, attribute) for `x.a += n`, `x.a -= n`, `x.a = x.a + n`..."""
    if isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
        target = node.target
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    else:
        return None
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
        return None
    obj = target.value.id
    if obj in ("self", "cls"):
        return None
    if isinstance(node, ast.Assign) and not _reads_in_arithmetic(node.value, obj, target.attr):
        return None
    if isinstance(node, ast.AugAssign) and _not_a_number(node.value):
        return None
    return node, obj, target.attr


def _not_a_number(node: ast.AST) -> bool:
    """Text or list concatenation (`name + "!"`, `tags + [t]`): not a counter or an amount."""
    return isinstance(node, (ast.JoinedStr, ast.List, ast.Tuple, ast.ListComp)) or (
        isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _reads_in_arithmetic(value: ast.AST, obj: str, attribute: str) -> bool:
    for node in ast.walk(value):
        if isinstance(node, ast.Lambda):
            return False
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(side, ast.Attribute) and side.attr == attribute \
                        and isinstance(side.value, ast.Name) and side.value.id == obj \
                        and not _not_a_number(other):
                    return True
    return False


def _bindings(fn: ast.AST) -> dict[str, list[tuple[tuple[int, int], str, ast.AST, int]]]:
    """name -> [(position, kind, node, loop index)] for assignments, loops and with-targets."""
    found: dict[str, list] = {}

    def add(name_node: ast.AST, position, kind: str, node: ast.AST, index: int = -1) -> None:
        if isinstance(name_node, ast.Name):
            found.setdefault(name_node.id, []).append((position, kind, node, index))

    for node in body_nodes(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                add(target, start(node), "assign", node.value)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            add(node.target, start(node), "assign", node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            if isinstance(node.target, ast.Tuple):
                for index, element in enumerate(node.target.elts):
                    add(element, start(node), "loop", node.iter, index)
            else:
                add(node.target, start(node), "loop", node.iter)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    add(item.optional_vars, start(node), "with", item.context_expr)
    return found


def _last_before(bindings, name: str, position) -> tuple | None:
    earlier = [b for b in bindings.get(name, ()) if b[0] < position]
    return max(earlier, key=lambda b: b[0]) if earlier else None


def _feeds(parsed, bindings, expr: ast.AST, position, depth: int = 0) -> list[Value]:
    """Values assigned to the names `expr` uses, recursively (nearest first)."""
    out: list[Value] = []
    if depth > 3:
        return out
    for node in ast.walk(expr):
        if isinstance(node, ast.Name):
            binding = _last_before(bindings, node.id, position)
            if binding is not None and binding[1] == "assign":
                value = to_value(binding[2], parsed.imports.resolve)
                if value is not None:
                    out.append(value)
                out.extend(_feeds(parsed, bindings, binding[2], binding[0], depth + 1))
    return out[:MAX_FEEDS]


def _fact(parsed, fn, scope, node, obj, attribute, bindings, params) -> AttributeUpdate:
    position = start(node)
    binding = _last_before(bindings, obj, position)
    text = source_text(node)[:120]
    lines = parsed.lines[fn.lineno - 1:node.lineno]
    row_locked = bool(ROW_LOCK.search("\n".join(lines)))
    resolve = parsed.imports.resolve
    if binding is not None and binding[1] in ("assign", "loop"):
        _, kind, value_node, index = binding
        feeds = _feeds(parsed, bindings, value_node, binding[0])
        annotation = None
        if kind == "loop" and isinstance(value_node, ast.Name) and value_node.id in params \
                and _last_before(bindings, value_node.id, binding[0]) is None:
            # Iterating a parameter: its annotation says what the elements are.
            annotation = to_value(params[value_node.id].annotation, resolve)
        return AttributeUpdate(scope, obj, attribute, node.lineno, text, kind,
                               getattr(value_node, "lineno", node.lineno),
                               to_value(value_node, resolve), index, tuple(feeds), row_locked, annotation)
    if binding is None and obj in params:
        return AttributeUpdate(scope, obj, attribute, node.lineno, text, "param", fn.lineno,
                               None, -1, (), row_locked, to_value(params[obj].annotation, resolve))
    return AttributeUpdate(scope, obj, attribute, node.lineno, text, "unknown", 0, None, -1, (), row_locked)
