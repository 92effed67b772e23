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


@dataclass(frozen=True)
class NameBinding:
    kind: str  # def, class, assign, import, loop, with, except, global, del, match, walrus
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
    for fn in parsed.nodes(*_FUNCS):
        names, rebinds = _function_names(parsed, fn, is_package)
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
    yield from _attribute_uses(parsed, module, functions)


# -- module level ----------------------------------------------------------------------

def _module_level_bindings(parsed, is_package: bool):
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
        for name, kind in _statement_bindings(node):
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


def _statement_bindings(node: ast.AST) -> list[tuple[str, str]]:
    """Names one statement binds in its own scope (not in nested scopes)."""
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
    elif isinstance(node, ast.Delete):
        for target in node.targets:
            found += [(n, "del") for n in _target_names(target)]
    elif isinstance(node, ast.match_case):
        found += [(n.name, "match") for n in ast.walk(node.pattern)
                  if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name]
        found += [(n.rest, "match") for n in ast.walk(node.pattern)
                  if isinstance(n, ast.MatchMapping) and n.rest]
    if isinstance(node, ast.stmt) and not isinstance(node, (*_FUNCS, ast.ClassDef)):
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
    for node in parsed.nodes(ast.Call):
        func = dotted_name(node.func) or ""
        if func in ("globals", "vars", "locals", "exec", "builtins.exec"):
            return True
        if func == "setattr" and node.args:
            first = dotted_name(node.args[0].value if isinstance(node.args[0], ast.Subscript)
                                else node.args[0]) or ""
            if first in ("sys.modules", "__name__") or "sys.modules" in ast.unparse(node.args[0]):
                return True
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

def _function_names(parsed, fn, is_package: bool) -> tuple[FunctionNames, set[str]]:
    """The function's names, and the module names it rebinds through `global`."""
    args = fn.args
    local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
    imported: dict[str, str] = {}
    declared: set[str] = set()
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, (*_FUNCS, ast.ClassDef)):
            local.add(node.name)
            continue
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for name, target in _import_targets(parsed, node, is_package):
                if name != "*":
                    imported[name] = target if name not in imported or imported[name] == target else ""
            continue
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            local.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name or isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            local.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    rebinds = declared & (local | set(imported))
    local -= declared
    both = set(imported) & local
    names = FunctionNames(parsed.scope_name(fn), frozenset(local | both),
                          tuple(sorted((n, t) for n, t in imported.items()
                                       if n not in declared and n not in both)))
    return names, rebinds


# -- attribute uses ----------------------------------------------------------------------

def _attribute_uses(parsed, module: ModuleNames,
                    functions: dict[int, FunctionNames]) -> Iterator[AttributeUse]:
    # Only names some import binds can name a module; `self.x` chains are skipped early.
    candidates = {name for name, bindings in module.bindings if any(b.kind == "import" for b in bindings)}
    candidates |= {name for names in functions.values() for name, _ in names.imported}
    if not candidates:
        return
    in_annotations = {id(n) for ann in parsed.nodes(ast.AnnAssign) for n in ast.walk(ann.annotation)}
    for node in parsed.nodes(ast.Attribute):
        parent = parsed.parent(node)
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # not the whole chain
        chain = dotted_name(node)
        if chain is None or chain.split(".", 1)[0] not in candidates or id(node) in in_annotations:
            continue
        head, *attrs = chain.split(".")
        target = _import_target_of(parsed, node, head, module, functions)
        if not target:
            continue
        yield AttributeUse(_scope_of(parsed, node), node.lineno, target, tuple(attrs), head,
                           store=not isinstance(node.ctx, ast.Load),
                           guarded=_inside(parsed, node, _attribute_guard))
    for call in parsed.nodes(ast.Call):
        if dotted_name(call.func) != "setattr" or len(call.args) < 2 or not isinstance(call.args[0], ast.Name):
            continue
        head = call.args[0].id
        target = _import_target_of(parsed, call, head, module, functions) if head in candidates else ""
        if target:
            name = call.args[1].value if isinstance(call.args[1], ast.Constant) else "*"
            yield AttributeUse(_scope_of(parsed, call), call.lineno, target, (str(name),), head,
                               store=True)


def _scope_of(parsed, node: ast.AST) -> str:
    fn = parsed.enclosing_function(node)
    return parsed.scope_name(fn) if fn is not None else ""


def _import_target_of(parsed, node, head: str, module: ModuleNames,
                      functions: dict[int, FunctionNames]) -> str:
    """The import target `head` names where `node` reads it, or "" when it may be
    something else (a local, a parameter, a comprehension variable, a class attribute)."""
    child, parent = node, parsed.parent(node)
    while parent is not None and not isinstance(parent, ast.Module):
        if isinstance(parent, _COMPREHENSIONS) and any(
                head in _target_names(gen.target) for gen in parent.generators):
            return ""
        if isinstance(parent, ast.Lambda) and head in {a.arg for a in ast.walk(parent.args)
                                                       if isinstance(a, ast.arg)}:
            return ""
        if isinstance(parent, ast.ClassDef) and any(child is s for s in parent.body) \
                and head in _class_body_names(parent):
            return ""
        if isinstance(parent, _FUNCS) and any(child is s for s in parent.body):
            names = functions.get(id(parent))
            if names is None or head in names.local:
                return ""
            for name, target in names.imported:
                if name == head:
                    return target
        child, parent = parent, parsed.parent(parent)
    bindings = module.of(head)
    targets = {b.target for b in bindings}
    if not bindings or any(b.kind != "import" for b in bindings) or len(targets) != 1:
        return ""
    return targets.pop()


def _class_body_names(cls: ast.ClassDef) -> set[str]:
    names = {name for stmt in cls.body for name, _ in _statement_bindings(stmt)}
    return names | {s.name for s in cls.body if isinstance(s, (*_FUNCS, ast.ClassDef))}


def _attribute_guard(parsed, parent: ast.AST, child: ast.AST) -> bool:
    if isinstance(parent, (ast.Try, ast.TryStar)) and any(child is s for s in parent.body):
        return any(h.type is None or _caught(parsed, h) & ATTRIBUTE_GUARDS for h in parent.handlers)
    if isinstance(parent, (ast.If, ast.IfExp, ast.While, ast.BoolOp)):
        test = parent.test if not isinstance(parent, ast.BoolOp) else parent
        text = ast.unparse(test)
        return "hasattr" in text or "getattr" in text or "TYPE_CHECKING" in text
    return False
