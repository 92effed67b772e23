"""The fast tree walks (model/astwalk.py) give what the ast module's walks give, less the
shared ctx/op nodes; the fast Value constructor and name resolution match the plain ones."""

from __future__ import annotations

import ast
import pickle
import sys
from pathlib import Path

import pytest

from prodaudit.model import astwalk
from prodaudit.model.resolve import CANONICAL_ALIASES, ImportTable, canonical, collect_imports
from prodaudit.model.values import Value, _value

SHARED = (ast.expr_context, ast.operator, ast.cmpop, ast.boolop, ast.unaryop)
SOURCE = '''
import a.b as c
from ..x import y
@deco(1, *rest, key={**extra, "k": [v async for v in gen()]})
async def f(p: int = 1, /, q=-2, *args, r: "str" = None, **kw) -> dict[str, int]:
    global counter
    counter += 1
    x, *y = not a < b <= c and d or e
    match x:
        case {"k": [1, *others]} | Point(x=0) as hit if hit: pass
        case None: del x[0]
    try:
        async with lock as held, other(): await g(f"{x!r:>{width}}")
    except* (ValueError, TypeError) as err: raise
    return lambda m, n=3: m @ n if m else ~n
class K(Base, metaclass=Meta):
    attr: int = 0
'''
TYPE_PARAMS = '''
type Alias[T: int] = list[T]
class G[T, *Ts, **P](Base): pass
'''  # Python 3.12+


def trees():
    yield ast.parse(SOURCE)
    if sys.version_info >= (3, 12):
        yield ast.parse(TYPE_PARAMS)
    for path in sorted(Path(astwalk.__file__).parent.glob("*.py")):
        yield ast.parse(path.read_text(encoding="utf-8"))


def test_walk_and_child_nodes_match_the_ast_module_without_shared_nodes():
    for tree in trees():
        expected = [node for node in ast.walk(tree) if not isinstance(node, SHARED)]
        assert [id(n) for n in astwalk.walk(tree)] == [id(n) for n in expected]
        for node in expected:
            children = [c for c in ast.iter_child_nodes(node) if not isinstance(c, SHARED)]
            assert list(astwalk.child_nodes(node)) == children


def reference_index(tree):
    """The node index as ParsedModule built it with ast.iter_child_nodes."""
    index, parents = {}, {}
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            index.setdefault(type(child), []).append(child)
            stack.append(child)
    return index, parents


def test_index_and_parents_are_the_plain_walk_without_the_shared_nodes():
    for tree in trees():
        index, parents = astwalk.index_and_parents(tree)
        expected_index, expected_parents = reference_index(tree)
        assert {kind: [id(n) for n in nodes] for kind, nodes in index.items()} == {
            kind: [id(n) for n in nodes] for kind, nodes in expected_index.items()
            if not issubclass(kind, SHARED)}
        shared = {id(n) for nodes in expected_index.values() for n in nodes if isinstance(n, SHARED)}
        assert parents == {key: parent for key, parent in expected_parents.items() if key not in shared}


@pytest.mark.parametrize("cls", [c for c in vars(ast).values() if isinstance(c, type)
                                 and issubclass(c, ast.AST) and c._fields
                                 and c.__name__ not in ("Num", "Str", "Bytes", "NameConstant", "Ellipsis")])
def test_field_table_agrees_with_the_class_signature(cls):
    # `_field_types` (Python 3.13+) and the ASDL docstring must name the same node fields.
    from_types = astwalk._node_field_names(cls)
    signature = cls.__doc__.partition("(")[2]
    plain = {name for kind, name in astwalk._SIGNATURE_FIELD.findall(signature)
             if kind in astwalk._PLAIN_ASDL_TYPES}
    assert from_types == [name for name in cls._fields if name not in plain]


def test_qualified_names_of_nested_definitions():
    tree = ast.parse("class A:\n    def m(self):\n        def inner(): pass\nasync def g():\n    class B: pass\n")
    index, parents = astwalk.index_and_parents(tree)
    names = astwalk.qualified_names(index, parents)
    assert sorted(names.values()) == ["A", "A.m", "A.m.inner", "g", "g.B"]


def test_fast_value_is_the_same_object_as_the_dataclass_one():
    item = Value("const", "1", const=1, line=2)
    for args, kwargs in [(("name", "x"), {"name": "m.x", "line": 3}),
                         (("call", "f(1)"), {"name": "f", "items": (item,), "keywords": (("k", item),)}),
                         (("other",), {})]:
        fast, slow = _value(*args, **kwargs), Value(*args, **kwargs)
        assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
        assert pickle.dumps(fast) == pickle.dumps(slow)


def test_canonical_maps_aliases_and_their_members():
    # The prefix lookup relies on no alias being a prefix of another.
    assert not [(a, b) for a in CANONICAL_ALIASES for b in CANONICAL_ALIASES
                if a != b and b.startswith(a + ".")]
    assert canonical("fastapi.routing.APIRouter") == "fastapi.APIRouter"
    assert canonical("fastapi.routing.APIRouter.get") == "fastapi.APIRouter.get"
    assert canonical("fastapi.routing.APIRouterX") == "fastapi.routing.APIRouterX"
    assert canonical("os.path.join") == "os.path.join"
    table = ImportTable(collect_imports(ast.parse("from fastapi.routing import APIRouter as R"), "m", False), "m")
    assert table.resolve("R.get") == table.resolve("R.get") == "fastapi.APIRouter.get"
    assert table.resolve("other.x") == "other.x"
