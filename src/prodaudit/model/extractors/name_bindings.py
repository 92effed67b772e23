"""How names are bound, for claims like "this call can only reach that function" and
"that module has no such attribute" (PA510, PA511), which must never be guesses.

Per module: every module-level binding of every name (def, class, assignment, import
with its target, loop/with/except targets, `global` rebinding from functions), whether
the namespace is dynamic (`globals()`, `exec`, module `__getattr__`, star imports), and
which imports are guarded (try/except ImportError, `if TYPE_CHECKING`). Per function: its
local names, split into names bound by imports (with their targets) and by anything
else. And attribute reads and writes on names bound by imports (`payments.charge`),
with the local-shadowing already decided here, where the tree is at hand.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.model.resolve import absolute_module
from prodaudit.model.values import dotted_name

_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_SCOPES = (*_FUNCS, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
ATTRIBUTE_GUARDS = frozenset({"AttributeError", "Exception", "BaseException", "ImportError"})
DYNAMIC_CALLS = frozenset({"globals", "vars", "locals", "exec"})  # and builtins.exec


@dataclass(frozen=True)
class NameBinding:
    kind: str  # def, class, assign, import, loop, with, except, global, del, match, walrus, type
    line: int
    target: str = ""  # imports: the absolute dotted name bound


@dataclass(frozen=True)
class ModuleNames:
    bindings: tuple[tuple[str, tuple[NameBinding, ...]], ...]
    star_import: bool
    # Names can appear at run time that no statement binds: globals()/vars()/exec,
    # setattr on the module, a module-level __getattr__.
    dynamic: bool
    guarded_import_lines: frozenset[int]

    def of(self, name: str) -> tuple[NameBinding, ...]:
        for bound, found in self.bindings:
            if bound == name:
                return found
        return ()


@dataclass(frozen=True)
class FunctionNames:
    scope: str
    local: frozenset[str]  # parameters and names bound by anything but an import
    imported: tuple[tuple[str, str], ...]  # (name, absolute target) of imports in the body


@dataclass(frozen=True)
class AttributeUse:
    """`head.a.b` where `head` is bound only by imports (of `target`) where it is read."""

    scope: str
    line: int
    target: str
    attrs: tuple[str, ...]
    head: str = ""  # the name as written (`plugin_service` for `from x import service as plugin_service`)
    store: bool = False  # `head.a = ...` / setattr(head, "a", ...): defines it from outside
    guarded: bool = False  # under try/except AttributeError or an `if hasattr(...)`


def extract(parsed) -> Iterator[object]:
    is_package = parsed.path.endswith("__init__.py")
    module_bindings: dict[str, list[NameBinding]] = {}
    star = False
    for node, binding_name, binding in _module_level_bindings(parsed, is_package):
        if binding_name == "*":
            star = True
        else:
            module_bindings.setdefault(binding_name, []).append(binding)
    functions: dict[int, FunctionNames] = {}
    bound_in = _names_bound_in_functions(parsed, is_package)
    for fn in parsed.nodes(*_FUNCS):
        names, rebinds = _function_names(parsed, fn, bound_in.get(id(fn)))
        functions[id(fn)] = names
        yield names
        for name in sorted(rebinds):
            module_bindings.setdefault(name, []).append(NameBinding("global", fn.lineno))
    guarded = frozenset(_guarded_import_lines(parsed))
    # A module __getattr__ (a def, or lazy_loader's `__getattr__, ... = attach(...)`) answers
    # any name; a rebound __path__ lets submodules come from other directories.
    dynamic = _is_dynamic(parsed) or "__getattr__" in module_bindings or "__path__" in module_bindings
    module = ModuleNames(tuple(sorted((k, tuple(v)) for k, v in module_bindings.items())), star,
                         dynamic, guarded)
    yield module
    yield from _attribute_uses(parsed, module_bindings, functions)


# -- module level ----------------------------------------------------------------------

def _module_level_bindings(parsed, is_package: bool):
    has_walrus = ast.NamedExpr in parsed.node_index()
    stack = list(reversed(parsed.tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, _FUNCS):
            yield node, node.name, NameBinding("def", node.lineno)
            continue
        if isinstance(node, ast.ClassDef):
            yield node, node.name, NameBinding("class", node.lineno)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, target in _import_targets(parsed, node, is_package):
                yield node, name, NameBinding("import", node.lineno, target)
            continue
        for name, kind in _statement_bindings(node, has_walrus):
            yield node, name, NameBinding(kind, node.lineno)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.stmt, ast.ExceptHandler, ast.match_case)):
                stack.append(child)


def _import_targets(parsed, node, is_package: bool) -> list[tuple[str, str]]:
    found = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            local = alias.asname or alias.name.split(".")[0]
            found.append((local, alias.name if alias.asname else alias.name.split(".")[0]))
    else:
        base = absolute_module(parsed.module, is_package, node.level, node.module)
        for alias in node.names:
            if alias.name == "*":
                found.append(("*", base))
            else:
                found.append((alias.asname or alias.name, f"{base}.{alias.name}" if base else alias.name))
    return found


_TYPE_ALIAS = getattr(ast, "TypeAlias", None)  # Python 3.12+


def _statement_bindings(node: ast.AST, has_walrus: bool) -> list[tuple[str, str]]:
    """Names one statement binds in its own scope (not in nested scopes). `has_walrus`:
    whether the module has any `:=` (when not, statements are not searched for one)."""
    found: list[tuple[str, str]] = []
    if isinstance(node, ast.Assign):
        for target in node.targets:
            found += [(n, "assign") for n in _target_names(target)]
    elif isinstance(node, ast.AnnAssign) and node.value is not None or isinstance(node, ast.AugAssign):
        found += [(n, "assign") for n in _target_names(node.target)]
    elif isinstance(node, (ast.For, ast.AsyncFor)):
        found += [(n, "loop") for n in _target_names(node.target)]
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                found += [(n, "with") for n in _target_names(item.optional_vars)]
    elif isinstance(node, ast.ExceptHandler) and node.name:
        found.append((node.name, "except"))
    elif _TYPE_ALIAS is not None and isinstance(node, _TYPE_ALIAS):
        found.append((node.name.id, "type"))  # `type Sorting[T] = tuple[T, bool]` (PEP 695)
    elif isinstance(node, ast.Delete):
        for target in node.targets:
            found += [(n, "del") for n in _target_names(target)]
    elif isinstance(node, ast.match_case):
        found += [(n.name, "match") for n in ast.walk(node.pattern)
                  if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name]
        found += [(n.rest, "match") for n in ast.walk(node.pattern)
                  if isinstance(n, ast.MatchMapping) and n.rest]
    if has_walrus and isinstance(node, ast.stmt) and not isinstance(node, (*_FUNCS, ast.ClassDef)):
        for child in _same_scope_nodes(node):
            if isinstance(child, ast.NamedExpr) and isinstance(child.target, ast.Name):
                found.append((child.target.id, "walrus"))
    return found


def _same_scope_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """Expression nodes of one statement, not entering nested statements or scopes."""
    stack = [c for c in ast.iter_child_nodes(node) if not isinstance(c, (ast.stmt, *_SCOPES))]
    while stack:
        child = stack.pop()
        yield child
        stack.extend(c for c in ast.iter_child_nodes(child) if not isinstance(c, _SCOPES))


def _target_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in _target_names(elt)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def _is_dynamic(parsed) -> bool:
    name_node, attribute = ast.Name, ast.Attribute
    for node in parsed.nodes(ast.Call):
        func = node.func
        if type(func) is name_node:
            name = func.id
        elif type(func) is attribute and func.attr == "exec" \
                and type(func.value) is name_node and func.value.id == "builtins":
            return True  # builtins.exec(...)
        else:
            continue
        if name in DYNAMIC_CALLS:
            return True
        if name == "setattr" and node.args:
            first = dotted_name(node.args[0].value if isinstance(node.args[0], ast.Subscript)
                                else node.args[0]) or ""
            if first in ("sys.modules", "__name__") or "sys.modules" in ast.unparse(node.args[0]):
                return True
    if "modules" not in parsed.source:
        return False  # the test below needs `sys.modules` written somewhere
    for node in parsed.nodes(ast.Attribute):
        # sys.modules[__name__].__dict__ / sys.modules[__name__].x = ...
        if (node.attr == "__dict__" or isinstance(node.ctx, ast.Store)) \
                and isinstance(node.value, ast.Subscript) and "sys.modules" in ast.unparse(node.value):
            return True
    return False


def _guarded_import_lines(parsed) -> Iterator[int]:
    for node in parsed.nodes(ast.Import, ast.ImportFrom):
        if _inside(parsed, node, _import_guard):
            yield node.lineno


def _import_guard(parsed, parent: ast.AST, child: ast.AST) -> bool:
    if isinstance(parent, (ast.Try, ast.TryStar)) and any(child is s for s in parent.body):
        return any(h.type is None or _caught(parsed, h) & IMPORT_GUARDS for h in parent.handlers)
    return isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test)


def _caught(parsed, handler: ast.ExceptHandler) -> set[str]:
    elts = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {(parsed.resolve(e) or "").rpartition(".")[2] for e in elts}


def _inside(parsed, node: ast.AST, test) -> bool:
    child, parent = node, parsed.parent(node)
    while parent is not None and not isinstance(parent, ast.Module):
        if test(parsed, parent, child):
            return True
        child, parent = parent, parsed.parent(parent)
    return False


# -- functions ---------------------------------------------------------------------------

class _BoundNames:
    """What one function's body binds (not counting nested functions, classes, lambdas)."""

    __slots__ = ("declared", "imported", "local")

    def __init__(self) -> None:
        self.local: set[str] = set()
        self.imported: dict[str, str] = {}
        self.declared: set[str] = set()


def _names_bound_in_functions(parsed, is_package: bool) -> dict[int, _BoundNames]:
    """id(function) -> the names its body binds, from the module's node index: only the
    nodes that bind are looked at (not every node of every body), each assigned to the
    function whose body holds it (see _function_owner)."""
    owner = _function_owner(parsed)
    bound: dict[int, _BoundNames] = {}

    def names_of(node: ast.AST) -> _BoundNames | None:
        fn = owner(node)
        if fn is None:
            return None
        found = bound.get(id(fn))
        if found is None:
            found = bound[id(fn)] = _BoundNames()
        return found

    index = parsed.node_index()
    load = ast.Load
    for node in index.get(ast.Name, ()):
        if type(node.ctx) is not load and (names := names_of(node)) is not None:  # Store and Del
            names.local.add(node.id)
    for kind in (*_FUNCS, ast.ClassDef):
        for node in index.get(kind, ()):
            if (names := names_of(node)) is not None:
                names.local.add(node.name)
    for kind in (ast.ExceptHandler, ast.MatchAs, ast.MatchStar):
        for node in index.get(kind, ()):
            if node.name and (names := names_of(node)) is not None:
                names.local.add(node.name)
    for kind in (ast.Global, ast.Nonlocal):
        for node in index.get(kind, ()):
            if (names := names_of(node)) is not None:
                names.declared.update(node.names)
    for kind in (ast.Import, ast.ImportFrom):
        for node in index.get(kind, ()):
            if (names := names_of(node)) is None:
                continue
            imported = names.imported
            for name, target in _import_targets(parsed, node, is_package):
                if name != "*":
                    # Imported twice with different targets: no single target.
                    imported[name] = target if name not in imported or imported[name] == target else ""
    return bound


def _function_owner(parsed):
    """A function giving, for a node, the function whose body runs it in that function's
    own scope, or None: at module level, in a class body, a lambda, or a function's
    decorators, defaults and annotations. Each step up is remembered, so that the
    statements around many nodes are climbed once."""
    parent_of = parsed.parent
    known: dict[int, ast.AST | None] = {}
    stops = (ast.ClassDef, ast.Lambda, ast.Module)

    def owner(node: ast.AST) -> ast.AST | None:
        climbed: list[int] = []
        child = node
        while True:
            parent = parent_of(child)
            if isinstance(parent, _FUNCS):
                # A function's own statements are its body; the rest (decorators,
                # arguments, annotations) belongs to the enclosing scope.
                result = parent if isinstance(child, ast.stmt) else None
                break
            if parent is None or isinstance(parent, stops):
                result = None
                break
            key = id(parent)
            if key in known:
                result = known[key]
                break
            climbed.append(key)
            child = parent
        for key in climbed:
            known[key] = result
        return result

    return owner


def _function_names(parsed, fn, bound: _BoundNames | None) -> tuple[FunctionNames, set[str]]:
    """The function's names, and the module names it rebinds through `global`."""
    args = fn.args
    local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
    imported: dict[str, str] = {}
    declared: set[str] = set()
    if bound is not None:
        local |= bound.local
        imported = bound.imported
        declared = bound.declared
    rebinds = declared & (local | set(imported))
    local -= declared
    both = set(imported) & local
    names = FunctionNames(parsed.scope_name(fn), frozenset(local | both),
                          tuple(sorted((n, t) for n, t in imported.items()
                                       if n not in declared and n not in both)))
    return names, rebinds


# -- attribute uses ----------------------------------------------------------------------

def _attribute_uses(parsed, module_bindings: dict[str, list[NameBinding]],
                    functions: dict[int, FunctionNames]) -> Iterator[AttributeUse]:
    # Only names some import binds can name a module; `self.x` chains are skipped early.
    candidates = {name for name, bindings in module_bindings.items() if any(b.kind == "import" for b in bindings)}
    candidates |= {name for names in functions.values() for name, _ in names.imported}
    if not candidates:
        return
    scan = _AttributeScan(parsed, module_bindings, functions)
    attribute, name_node = ast.Attribute, ast.Name
    for node in parsed.nodes(ast.Attribute):
        base = node.value
        while type(base) is attribute:
            base = base.value
        if type(base) is not name_node or base.id not in candidates:
            continue  # cheap test first: most chains start with `self` or a local
        parent = parsed.parent(node)
        if type(parent) is attribute and parent.value is node:
            continue  # not the whole chain
        ancestors = scan.ancestors(node)
        if _in_variable_annotation(node, ancestors):
            continue
        head, *attrs = dotted_name(node).split(".")
        target = scan.import_target_of(node, head, ancestors)
        if not target:
            continue
        yield AttributeUse(_enclosing_scope(parsed, ancestors), node.lineno, target, tuple(attrs), head,
                           store=not isinstance(node.ctx, ast.Load),
                           guarded=scan.guarded(node, ancestors))
    for call in parsed.nodes(ast.Call):
        func = call.func
        if type(func) is not name_node or func.id != "setattr" or len(call.args) < 2 \
                or not isinstance(call.args[0], ast.Name):
            continue
        head = call.args[0].id
        if head not in candidates:
            continue
        ancestors = scan.ancestors(call)
        target = scan.import_target_of(call, head, ancestors)
        if target:
            name = call.args[1].value if isinstance(call.args[1], ast.Constant) else "*"
            yield AttributeUse(_enclosing_scope(parsed, ancestors), call.lineno, target, (str(name),), head,
                               store=True)


def _in_variable_annotation(node: ast.AST, ancestors: list[ast.AST]) -> bool:
    """Inside the annotation of an annotated assignment (`x: payments.Charge = ...`)."""
    child = node
    for parent in ancestors:
        if type(parent) is ast.AnnAssign:
            return child is parent.annotation
        child = parent
    return False


def _enclosing_scope(parsed, ancestors: list[ast.AST]) -> str:
    """Qualified name of the innermost function among `ancestors`, or ""."""
    for node in ancestors:
        if isinstance(node, _FUNCS):
            return parsed.scope_name(node)
    return ""


class _AttributeScan:
    """Per-module lookups for the attribute uses, each made once rather than per use."""

    def __init__(self, parsed, module_bindings: dict[str, list[NameBinding]],
                 functions: dict[int, FunctionNames]) -> None:
        self.parsed = parsed
        self.functions = functions
        self.module_bindings = module_bindings
        self.has_walrus = ast.NamedExpr in parsed.node_index()
        self.class_names: dict[int, set[str]] = {}  # id(class) -> names its body binds
        self.guards: dict[int, bool] = {}  # id(if/while/bool op/try) -> is it a guard
        source = parsed.source
        self.may_test_attributes = "hasattr" in source or "getattr" in source or "TYPE_CHECKING" in source

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        """The nodes around `node`, innermost first, up to (not including) the module."""
        parent_of = self.parsed.parent
        found = []
        parent = parent_of(node)
        while parent is not None and not isinstance(parent, ast.Module):
            found.append(parent)
            parent = parent_of(parent)
        return found

    def import_target_of(self, node: ast.AST, head: str, ancestors: list[ast.AST]) -> str:
        """The import target `head` names where `node` reads it, or "" when it may be
        something else (a local, a parameter, a comprehension variable, a class attribute)."""
        child = node
        for parent in ancestors:
            if isinstance(parent, _COMPREHENSIONS) and any(
                    head in _target_names(gen.target) for gen in parent.generators):
                return ""
            if isinstance(parent, ast.Lambda) and head in {a.arg for a in ast.walk(parent.args)
                                                           if isinstance(a, ast.arg)}:
                return ""
            # A statement child of a class or function is one of its body's statements.
            if isinstance(parent, ast.ClassDef) and isinstance(child, ast.stmt) \
                    and head in self._class_body_names(parent):
                return ""
            if isinstance(parent, _FUNCS) and isinstance(child, ast.stmt):
                names = self.functions.get(id(parent))
                if names is None or head in names.local:
                    return ""
                for name, target in names.imported:
                    if name == head:
                        return target
            child = parent
        bindings = self.module_bindings.get(head, ())
        targets = {b.target for b in bindings}
        if not bindings or any(b.kind != "import" for b in bindings) or len(targets) != 1:
            return ""
        return targets.pop()

    def _class_body_names(self, cls: ast.ClassDef) -> set[str]:
        names = self.class_names.get(id(cls))
        if names is None:
            names = {name for stmt in cls.body for name, _ in _statement_bindings(stmt, self.has_walrus)}
            names |= {s.name for s in cls.body if isinstance(s, (*_FUNCS, ast.ClassDef))}
            self.class_names[id(cls)] = names
        return names

    def guarded(self, node: ast.AST, ancestors: list[ast.AST]) -> bool:
        """Under try/except AttributeError or an `if hasattr(...)` (see _attribute_guard)."""
        child = node
        for parent in ancestors:
            if isinstance(parent, (ast.Try, ast.TryStar)):
                if any(child is s for s in parent.body) and self._guard(parent):
                    return True
            elif isinstance(parent, (ast.If, ast.IfExp, ast.While, ast.BoolOp)) and \
                    self.may_test_attributes and self._guard(parent):
                return True
            child = parent
        return False

    def _guard(self, parent: ast.AST) -> bool:
        """_attribute_guard's answer for a node inside `parent` (inside a try's body),
        which depends on `parent` only."""
        found = self.guards.get(id(parent))
        if found is None:
            child = parent.body[0] if isinstance(parent, (ast.Try, ast.TryStar)) else None
            found = self.guards[id(parent)] = _attribute_guard(self.parsed, parent, child)
        return found


def _attribute_guard(parsed, parent: ast.AST, child: ast.AST) -> bool:
    if isinstance(parent, (ast.Try, ast.TryStar)) and any(child is s for s in parent.body):
        return any(h.type is None or _caught(parsed, h) & ATTRIBUTE_GUARDS for h in parent.handlers)
    if isinstance(parent, (ast.If, ast.IfExp, ast.While, ast.BoolOp)):
        test = parent.test if not isinstance(parent, ast.BoolOp) else parent
        text = ast.unparse(test)
        return "hasattr" in text or "getattr" in text or "TYPE_CHECKING" in text
    return False
