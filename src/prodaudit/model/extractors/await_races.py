"""Check-then-act across an await: shared state tested, the coroutine suspended, then the
state written as if the test still held.

    if key not in self._instances:          # check
        instance = await self._factory()    # the coroutine yields here
        self._instances[key] = instance     # act

Only state that outlives the call is recorded (attributes of self/cls, module names and
names declared `global`); locals cannot be raced. A re-check after the last await (double
checked locking) makes the write safe, and so does a lock-like `with`/`async with` that
encloses both the check and the write. Whether the object is shared between concurrent
requests is the project model's question (see rules/concurrency/check_then_act_across_await.py).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from prodaudit.model.extractors._async_flow import (
    ancestors,
    body_nodes,
    by_function,
    end,
    held_locks,
    is_lock_expression,
    local_names,
    lock_variables,
    on_path_to,
    precedes_in_block,
    start,
    statement_of,
    yield_points,
)
from prodaudit.model.values import dotted_name, source_text


@dataclass(frozen=True)
class CheckThenAct:
    scope: str  # function qualname
    target: str  # "self._instances", "_cache", "self._client"
    key: str  # source text of the key; "" for an attribute tested against None
    check: str  # membership, get, none
    check_line: int
    check_text: str
    yield_line: int
    yield_text: str
    write_line: int
    write_text: str
    locked: bool  # a lock-like with/async with encloses check and write
    sets_flag: bool = False  # the write stores True/False: an "initialised" flag


def extract(parsed) -> list[CheckThenAct]:
    if "await" not in parsed.source and "async " not in parsed.source:
        return []  # no coroutine can yield here; do not pay for the node index
    facts: list[CheckThenAct] = []
    declared = {name for node in parsed.nodes(ast.Global) for name in node.names}
    writes = [n for n in parsed.nodes(ast.Assign, ast.AnnAssign)
              if any(_may_be_shared(t, declared) for t in (n.targets if isinstance(n, ast.Assign) else [n.target]))]
    groups = by_function(parsed, writes, async_only=True)
    known = lock_variables(parsed) if groups else frozenset()
    for fn, _ in groups:
        scope = parsed.scope_name(fn)
        if scope:
            facts.extend(_races_in(parsed, fn, scope, known))
    return facts


def _may_be_shared(target: ast.AST, declared: set[str]) -> bool:
    """Cheap first look: a subscript, an attribute of self/cls, or a name declared global."""
    if isinstance(target, ast.Subscript):
        return True
    if isinstance(target, ast.Attribute):
        return (dotted_name(target) or "").startswith(("self.", "cls."))
    return isinstance(target, ast.Name) and target.id in declared


def _shared_root(target: str, bound: set[str], declared: set[str], rebinding: bool) -> bool:
    head = target.split(".")[0]
    if head in ("self", "cls"):
        return "." in target
    if rebinding and "." not in target:
        return head in declared  # assigning a bare name is only shared when declared global
    return head in declared or head not in bound  # module state, or an attribute of it


def _dump(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _checks(fn: ast.AST, target: str, key: ast.AST | None) -> list[tuple[ast.AST, str]]:
    """Expressions in fn that test `target[key]` (membership, .get) or `target` against None."""
    found = []
    key_dump = _dump(key) if key is not None else ""
    for node in body_nodes(fn):
        if key is not None:
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                container = node.comparators[0]
                if isinstance(container, ast.Call) and isinstance(container.func, ast.Attribute) \
                        and container.func.attr == "keys":
                    container = container.func.value
                if dotted_name(container) == target and _dump(node.left) == key_dump:
                    found.append((node, "membership"))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "get" and node.args \
                    and dotted_name(node.func.value) == target and _dump(node.args[0]) == key_dump:
                found.append((node, "get"))
        else:
            compares_none = isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and isinstance(node.ops[0], (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) \
                and dotted_name(node.left) == target and _is_none(node.comparators[0])
            negates = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) \
                and dotted_name(node.operand) == target
            if compares_none or negates:
                found.append((node, "none"))
            elif isinstance(node, (ast.If, ast.While)) and dotted_name(node.test) == target:
                found.append((node.test, "none"))
    return found


def _writes(fn: ast.AST, bound: set[str], declared: set[str]):
    """(statement, target text, key node or None) for each write to shared state."""
    for node in body_nodes(fn):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Subscript):
                container = dotted_name(target.value)
                if container and _shared_root(container, bound, declared, rebinding=False):
                    yield node, container, target.slice
            else:
                name = dotted_name(target)
                if name and (name.startswith(("self.", "cls.")) or name in declared) \
                        and _shared_root(name, bound, declared, rebinding=True):
                    yield node, name, None


def _races_in(parsed, fn: ast.AsyncFunctionDef, scope: str, known: frozenset[str]) -> list[CheckThenAct]:
    points = yield_points(fn)
    if not points:
        return []
    bound, declared = local_names(fn)
    parent = parsed.parent
    resolve = parsed.resolve
    acquires = [n for n in body_nodes(fn) if isinstance(n, ast.Await) and isinstance(n.value, ast.Call)
                and isinstance(n.value.func, ast.Attribute) and n.value.func.attr == "acquire"
                and is_lock_expression(n.value.func.value, resolve, known)]
    facts = []
    for write, target, key in _writes(fn, bound, declared):
        if _is_none(write.value):
            continue  # a reset (`self._task = None` after awaiting it): nothing is created twice
        write_end = end(write)
        relevant = []
        for check, kind in _checks(fn, target, key):
            statement = statement_of(check, parent)
            if statement is None or end(check) > write_end:
                continue
            encloses = any(node is statement for node in ancestors(write, parent, fn))
            if encloses or precedes_in_block(statement, write, parent, fn):
                relevant.append((end(check), check, kind))
        if not relevant:
            continue
        check_end, check, kind = max(relevant, key=lambda r: r[0])
        between = [node for position, node in points
                   if check_end <= position < write_end and on_path_to(node, write, parent, fn)]
        if not between:
            continue
        check_locks = {id(w) for w in held_locks(check, parent, fn, resolve, known)}
        locked = any(id(w) in check_locks for w in held_locks(write, parent, fn, resolve, known))
        locked = locked or any(start(a) < start(check) for a in acquires)
        first = between[0]
        facts.append(CheckThenAct(
            scope=scope, target=target, key=source_text(key) if key is not None else "",
            check=kind, check_line=check.lineno, check_text=source_text(check)[:120],
            yield_line=_yield_line(first), yield_text=_yield_text(first),
            write_line=write.lineno, write_text=source_text(write)[:120], locked=locked,
            sets_flag=isinstance(write.value, ast.Constant) and isinstance(write.value.value, bool),
        ))
    return facts


def _yield_line(node: ast.AST) -> int:
    # An async comprehension's `async for` has no position of its own: its iterable has.
    return node.iter.lineno if isinstance(node, ast.comprehension) else node.lineno


def _yield_text(node: ast.AST) -> str:
    if isinstance(node, ast.AsyncWith):
        return "async with " + ", ".join(source_text(i.context_expr) for i in node.items)
    if isinstance(node, (ast.AsyncFor, ast.comprehension)):
        return "async for ... in " + source_text(node.iter)
    return source_text(node)[:80]
