"""Faster stand-ins for ast.iter_child_nodes and ast.walk.

`ast.iter_child_nodes` goes through `ast.iter_fields` and tests every field value with
isinstance, on every node: most of the cost of walking a tree. Here each node class gets,
once, the tuple of its fields that can hold nodes, so a walk only reads those.

Two kinds of children are left out on purpose:
  * `ctx` (Load/Store/Del), `op` and `ops` (operators): CPython shares one instance of each
    per class across every tree, so they are no one's child in particular and nothing
    looks at them as nodes (code reads them through their parent: `node.ctx`, `node.op`).
  * fields that hold plain values (`Name.id`, `Constant.value`, `Global.names`).
Otherwise children come in the order `ast.iter_child_nodes` gives them.
"""

from __future__ import annotations

import ast
import re
import typing
from collections import deque
from collections.abc import Iterator

# Fields whose nodes are shared singletons; see the module docstring.
SHARED_SINGLETON_FIELDS = frozenset({"ctx", "op", "ops"})

# ASDL builtin types in the classes' signatures (`Name(identifier id, expr_context ctx)`):
# these fields never hold a node.
_PLAIN_ASDL_TYPES = frozenset({"identifier", "string", "int", "constant", "bytes", "object"})
_SIGNATURE_FIELD = re.compile(r"(\w+)[*?]?\s+(\w+)")


def _holds_nodes(annotation: object) -> bool:
    """True when a `_field_types` annotation (`ast.expr | None`, `list[ast.arg]`) can
    hold a node."""
    if isinstance(annotation, type):
        return issubclass(annotation, ast.AST)
    return any(_holds_nodes(arg) for arg in typing.get_args(annotation))


def _node_field_names(cls: type) -> list[str]:
    """Names of the fields of `cls` that can hold nodes, from `_field_types` (Python
    3.13+) or else from the ASDL signature CPython puts in each class's docstring."""
    field_types = getattr(cls, "_field_types", None)
    if field_types is not None and set(field_types) >= set(cls._fields):
        return [name for name in cls._fields if _holds_nodes(field_types[name])]
    for klass in cls.__mro__:
        signature = klass.__dict__.get("__doc__") or ""
        head, _, rest = signature.partition("(")
        if head != klass.__name__ or klass._fields != cls._fields:
            continue
        types = {name: asdl_type for asdl_type, name in _SIGNATURE_FIELD.findall(rest)}
        if set(types) >= set(cls._fields):
            return [name for name in cls._fields if types[name] not in _PLAIN_ASDL_TYPES]
    raise TypeError(f"no field types known for syntax node class {cls.__name__}")


class _ChildFields(dict):
    """node class -> names of its fields that hold child nodes, computed on first use."""

    def __missing__(self, cls: type) -> tuple[str, ...]:
        fields = tuple(name for name in _node_field_names(cls)
                       if name not in SHARED_SINGLETON_FIELDS)
        self[cls] = fields
        return fields


# Read it as `CHILD_FIELDS[node.__class__]`. A field named here holds None, a node, or a
# list of nodes in which None may appear (`Dict.keys` for `**x`, `arguments.kw_defaults`).
CHILD_FIELDS: dict[type, tuple[str, ...]] = _ChildFields()


def child_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The direct children of `node`, as ast.iter_child_nodes gives them, without the
    shared ctx/op nodes."""
    for name in CHILD_FIELDS[node.__class__]:
        value = getattr(node, name, None)
        if value is None:
            continue
        if value.__class__ is list:
            for child in value:
                if child is not None:
                    yield child
        else:
            yield value


def walk(node: ast.AST) -> Iterator[ast.AST]:
    """`node` and every node under it, in ast.walk's (breadth-first) order, without the
    shared ctx/op nodes."""
    fields = CHILD_FIELDS
    queue = deque([node])
    popleft, push = queue.popleft, queue.append
    while queue:
        node = popleft()
        for name in fields[node.__class__]:
            value = getattr(node, name, None)
            if value is None:
                continue
            if value.__class__ is list:
                for child in value:
                    if child is not None:
                        push(child)
            else:
                push(value)
        yield node


def index_and_parents(tree: ast.AST) -> tuple[dict[type, list[ast.AST]], dict[int, ast.AST]]:
    """Every node under `tree` (not `tree` itself) by class, and each one's parent by id.

    The order within each list is this walk's: depth first from a stack, last child
    first, the order the node index always had. ctx/op nodes are in neither table."""
    fields = CHILD_FIELDS
    index: dict[type, list[ast.AST]] = {}
    parents: dict[int, ast.AST] = {}
    stack = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        for name in fields[node.__class__]:
            value = getattr(node, name, None)
            if value is None:
                continue
            if value.__class__ is list:
                for child in value:
                    if child is None:
                        continue
                    parents[id(child)] = node
                    same_kind = index.get(child.__class__)
                    if same_kind is None:
                        index[child.__class__] = [child]
                    else:
                        same_kind.append(child)
                    push(child)
            else:
                parents[id(value)] = node
                same_kind = index.get(value.__class__)
                if same_kind is None:
                    index[value.__class__] = [value]
                else:
                    same_kind.append(value)
                push(value)
    return index, parents


_SCOPE_KINDS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def qualified_names(index: dict[type, list[ast.AST]], parents: dict[int, ast.AST]) -> dict[int, str]:
    """id of each function and class node -> its qualified name ("Class.method"), from
    the tables `index_and_parents` gives: a few dozen parent chains, cheaper than carrying
    a scope along for every node of the walk."""
    names: dict[int, str] = {}

    def name_of(node: ast.AST) -> str:
        known = names.get(id(node))
        if known is not None:
            return known
        outer = parents.get(id(node))
        while outer is not None and outer.__class__ not in _SCOPE_KINDS:
            outer = parents.get(id(outer))
        prefix = name_of(outer) if outer is not None else ""
        name = f"{prefix}.{node.name}" if prefix else node.name
        names[id(node)] = name
        return name

    for kind in _SCOPE_KINDS:
        for node in index.get(kind, ()):
            name_of(node)
    return names
