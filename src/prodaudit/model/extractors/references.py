"""Names a module refers to, for "is this symbol used anywhere?" (dead code).

Resolution by name only, like vulture: a function is used when its name is loaded
somewhere (`helper(...)`, `Depends(helper)`), read as an attribute (`obj.helper`,
`module.helper`), imported, or written as a string that names it (`getattr(x, "helper")`,
`"app.tasks.helper"`, `__all__ = ["helper"]`). That over-approximates use (two functions
with one name protect each other), which is the direction a dead-code rule must err in.

Dynamic lookups that no name can follow are recorded too: `getattr(self, f"on_{event}")`
gives the prefix "on_"; a lookup with no literal prefix (or `globals()[...]`) marks the
whole module as dynamic, so nothing in it is called dead.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

IDENTIFIER_PATH = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$")
DYNAMIC_LOOKUPS = frozenset({"getattr", "hasattr", "setattr", "delattr"})
MAX_STRING = 160


@dataclass(frozen=True)
class ReferencedNames:
    names: frozenset[str]  # Name loads, import bindings and imported names
    attributes: frozenset[str]  # attribute reads: `x.name`
    strings: frozenset[str]  # identifier segments of identifier-like string constants
    dynamic_prefixes: tuple[str, ...] = ()  # getattr(x, f"prefix{...}")
    dynamic_any: bool = False  # getattr with a computed name, or globals()/vars() lookups

    def mentions(self, name: str) -> bool:
        return name in self.names or name in self.attributes or name in self.strings


def extract(parsed) -> Iterable[object]:
    # One pass per node type over the module's node index (shared with file rules and
    # other extractors; it holds annotations too). Everything gathered is a set, so the
    # order nodes come in does not matter.
    index = parsed.node_index()
    no_nodes: list[ast.AST] = []
    store = ast.Store
    names = {node.id for node in index.get(ast.Name, no_nodes) if type(node.ctx) is not store}
    attributes = {node.attr for node in index.get(ast.Attribute, no_nodes) if type(node.ctx) is not store}
    for kind in (ast.Import, ast.ImportFrom):
        for node in index.get(kind, no_nodes):
            for alias in node.names:
                # `from x import helper` names helper; `import a.b as c` names a, b and c.
                names.update(part for part in alias.name.split(".") if part != "*")
                if alias.asname:
                    names.add(alias.asname)
    return [ReferencedNames(frozenset(names), frozenset(attributes), frozenset(_strings(parsed, index)),
                            *_dynamic_lookups(index.get(ast.Call, no_nodes)))]


def _strings(parsed, index: dict) -> set[str]:
    """Identifier segments of identifier-like string constants, prose excepted."""
    # Bare string statements (docstrings, string "comments") are prose, not references.
    prose = {id(node.value) for node in index.get(ast.Expr, ())
             if type(node.value) is ast.Constant and type(node.value.value) is str}
    if parsed.tree.body and isinstance(parsed.tree.body[0], ast.Expr):
        prose.add(id(parsed.tree.body[0].value))
    strings: set[str] = set()
    identifier_path = IDENTIFIER_PATH.match
    for node in index.get(ast.Constant, ()):
        value = node.value
        if type(value) is str and len(value) <= MAX_STRING and id(node) not in prose:
            text = value.strip()
            if identifier_path(text):
                strings.update(part for part in re.split(r"[.:]", text) if part)
    return strings


def _dynamic_lookups(calls: list[ast.Call]) -> tuple[tuple[str, ...], bool]:
    """Prefixes of getattr(x, f"prefix{...}") names, and whether some lookup has no
    literal prefix (or the module reads globals()/vars()/locals())."""
    prefixes: set[str] = set()
    dynamic_any = False
    name_node = ast.Name
    for node in calls:
        func = node.func
        if type(func) is not name_node:
            continue
        if func.id in DYNAMIC_LOOKUPS and len(node.args) >= 2:
            key = node.args[1]
            if isinstance(key, ast.JoinedStr):
                first = key.values[0] if key.values else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
                    prefixes.add(first.value)
                else:
                    dynamic_any = True
            elif not isinstance(key, ast.Constant):
                dynamic_any = True
        elif func.id in ("globals", "vars", "locals") and not node.args:
            dynamic_any = True
    return tuple(sorted(prefixes)), dynamic_any
