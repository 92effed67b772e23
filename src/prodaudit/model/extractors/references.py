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


def _nodes(parsed, kinds: tuple[type, ...]) -> list[ast.AST]:
    """Nodes of these kinds, from the module's node index (one walk, shared with file rules
    and other extractors); annotations are part of that walk, the extra pass is harmless."""
    found: list[ast.AST] = []
    for kind in kinds:
        found.extend(parsed.node_index().get(kind, ()))
    for fn_kind in (ast.FunctionDef, ast.AsyncFunctionDef):
        for fn in parsed.node_index().get(fn_kind, ()):
            args = fn.args
            annotations = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                                  args.vararg, args.kwarg) if a is not None and a.annotation]
            if fn.returns is not None:
                annotations.append(fn.returns)
            for annotation in annotations:
                found.extend(node for node in ast.walk(annotation) if isinstance(node, kinds))
    return found


def extract(parsed) -> Iterable[object]:
    index = parsed.node_index()
    # Bare string statements (docstrings, string "comments") are prose, not references.
    prose = {id(node.value) for node in index.get(ast.Expr, ())
             if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    if parsed.tree.body and isinstance(parsed.tree.body[0], ast.Expr):
        prose.add(id(parsed.tree.body[0].value))
    names: set[str] = set()
    attributes: set[str] = set()
    strings: set[str] = set()
    prefixes: set[str] = set()
    dynamic_any = False
    store = ast.Store
    for node in _nodes(parsed, (ast.Name, ast.Attribute, ast.Constant, ast.Import, ast.ImportFrom, ast.Call)):
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, store):
                names.add(node.id)
        elif isinstance(node, ast.Attribute):
            if not isinstance(node.ctx, store):
                attributes.add(node.attr)
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str) and id(node) not in prose and len(value) <= MAX_STRING:
                text = value.strip()
                if IDENTIFIER_PATH.match(text):
                    strings.update(part for part in re.split(r"[.:]", text) if part)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                # `from x import helper` names helper; `import a.b as c` names a, b and c.
                names.update(part for part in alias.name.split(".") if part != "*")
                if alias.asname:
                    names.add(alias.asname)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in DYNAMIC_LOOKUPS and len(node.args) >= 2:
                key = node.args[1]
                if isinstance(key, ast.JoinedStr):
                    first = key.values[0] if key.values else None
                    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
                        prefixes.add(first.value)
                    else:
                        dynamic_any = True
                elif not isinstance(key, ast.Constant):
                    dynamic_any = True
            elif node.func.id in ("globals", "vars", "locals") and not node.args:
                dynamic_any = True
    return [ReferencedNames(frozenset(names), frozenset(attributes), frozenset(strings),
                            tuple(sorted(prefixes)), dynamic_any)]
