"""Calls to project functions and classes whose arguments cannot fit the signature.

Only calls that resolve to exactly one plain definition are judged: a module function or
class bound once, an imported one (following re-exports), or `self.method()` on a method
no other class in the project defines. Anything that can change a signature or its
binding (decorators, metaclasses, generated `__init__`, `*args`/`**kwargs` on either
side, library base classes, conditional or repeated definitions, local shadowing) makes
the call unknown, and unknown calls are never reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.facts import CallFact, ClassFact, FunctionFact, ModuleSummary, ParamFact

MAX_DEPTH = 5
# Bases whose metaclass is `type` and whose __init__/__new__ a project __init__ replaces.
PLAIN_BASES = frozenset({"object", "builtins.object", "abc.ABC", "typing.Generic"})
BUILTIN_EXCEPTIONS = frozenset({
    "Exception", "BaseException", "ValueError", "TypeError", "RuntimeError", "KeyError",
    "LookupError", "IndexError", "AttributeError", "PermissionError", "OSError", "IOError",
    "ConnectionError", "TimeoutError", "NotImplementedError", "ArithmeticError",
})


@dataclass(frozen=True)
class Callee:
    module: ModuleSummary
    display: str  # "SessionManager", "payments.charge", "Repo.save"
    function: FunctionFact | None  # None: a class without __init__ (object's: no arguments)
    bound: bool  # the first parameter is bound (self/cls)
    kind: str  # function, class, method
    location: Location


@dataclass(frozen=True)
class CallMismatch:
    module: ModuleSummary
    call: CallFact
    callee: Callee
    problem: str


class Signatures:
    def __init__(self, project, symbols):
        self.project = project
        self.symbols = symbols
        self._method_owners: dict[str, int] | None = None
        self._assigned: set[str] | None = None

    def mismatches(self) -> list[CallMismatch]:
        found = []
        for module in self.project.summaries("source"):
            for call in module.calls:
                if call.has_star_args or len(call.args) >= 32 or len(call.keywords) >= 32:
                    continue
                callee = self.resolve(module, call)
                if callee is None:
                    continue
                problem = self.problem(callee, call)
                if problem:
                    found.append(CallMismatch(module, call, callee, problem))
        return found

    # -- resolution ----------------------------------------------------------------------
    def resolve(self, module: ModuleSummary, call: CallFact) -> Callee | None:
        callee = call.callee
        if "(" in callee or "[" in callee or "<" in callee:
            return None
        head, _, rest = callee.partition(".")
        found = self._lookup(module, call.scope, head)
        if found is None:
            return None
        how, value = found
        if how == "self":
            return self._self_method(module, value, rest) if rest and "." not in rest else None
        if how == "module":
            return self._in_module(module, head, callee) if not rest else None
        target = f"{value}.{rest}" if rest else value
        return self._imported(target, callee)

    def _lookup(self, module: ModuleSummary, scope: str, head: str) -> tuple[str, str] | None:
        """Where `head` comes from when read in `scope`: ("import", target), ("module", ""),
        ("self", method qualname), or None when it is local or uncertain."""
        cls = self.project.class_named(module, scope) if scope else None
        if cls is not None:
            class_level = {a.target for a in module.assignments if a.scope == scope}
            if head in class_level or head in cls.methods:
                return None  # a class body sees its own names first
        current = scope
        while current:
            fn = module.function(current)
            if fn is not None:
                names = self.symbols.function_names(module, current)
                if names is None:
                    return None
                if head in names.local:
                    first = fn.params[0].name if fn.params else ""
                    if fn.class_name and head == first and head in ("self", "cls") and current == fn.qualname:
                        return "self", fn.qualname
                    return None
                for name, target in names.imported:
                    if name == head:
                        return ("import", target) if target else None
            current = current.rpartition(".")[0]
        bindings = self.symbols.names_of(module)
        if bindings is None or bindings.dynamic:
            return None
        found = bindings.of(head)
        if len(found) == 1 and found[0].kind in ("def", "class"):
            return "module", ""
        targets = {b.target for b in found}
        if found and all(b.kind == "import" for b in found) and len(targets) == 1:
            return "import", targets.pop()
        return None

    def _in_module(self, module: ModuleSummary, name: str, display: str) -> Callee | None:
        """The single def or class `name` at the top of `module`, not replaced from outside
        (`payments.charge = instrumented(payments.charge)`)."""
        bindings = self.symbols.names_of(module)
        if bindings is None or bindings.dynamic or (module.path, name) in self.symbols.stored_from_outside:
            return None
        found = bindings.of(name)
        if len(found) != 1:
            return None
        if found[0].kind == "def":
            functions = [f for f in module.functions if f.qualname == name]
            if len(functions) != 1 or functions[0].decorators:
                return None
            fn = functions[0]
            return Callee(module, display, fn, False, "function", Location(module.path, fn.def_line or fn.line))
        if found[0].kind == "class":
            cls = self.project.class_named(module, name)
            return self._constructor(module, cls, display) if cls is not None else None
        return None

    def _imported(self, dotted: str, display: str, depth: int = 0) -> Callee | None:
        """`pkg.mod.name` -> the def/class `name` of project module pkg.mod, following
        re-exports (`from .impl import name` in a package)."""
        if depth > MAX_DEPTH:
            return None
        base, _, name = dotted.rpartition(".")
        if not base:
            return None
        resolved = self.symbols.module(base)
        if resolved is None:
            return None
        module = resolved.summary
        bindings = self.symbols.names_of(module)
        if bindings is None or bindings.dynamic or bindings.star_import:
            return None
        found = bindings.of(name)
        if len(found) == 1 and found[0].kind in ("def", "class"):
            return self._in_module(module, name, display)
        targets = {b.target for b in found}
        if found and all(b.kind == "import" for b in found) and len(targets) == 1:
            return self._imported(targets.pop(), display, depth + 1)
        return None

    def _constructor(self, module: ModuleSummary, cls: ClassFact, display: str) -> Callee | None:
        init = self._init_of(module, cls, 0)
        if init is None:
            return None
        where, fn = init
        location = Location(where.path, fn.def_line or fn.line) if fn else Location(module.path, cls.line)
        return Callee(where, display, fn, True, "class", location)

    def _init_of(self, module: ModuleSummary, cls: ClassFact, depth: int):
        """(module, __init__ FunctionFact or None for object's) along a single-inheritance
        chain of plain project classes; None when anything could change construction."""
        if depth > MAX_DEPTH or cls.decorators or cls.keywords or "." in cls.qualname:
            return None
        if "__new__" in cls.methods or any(
                a.scope == cls.qualname and a.target in ("__init__", "__new__", "__signature__", "__call__")
                for a in module.assignments):
            return None
        if len(cls.bases) > 1:
            return None
        base = cls.bases[0] if cls.bases else None
        if "__init__" in cls.methods:
            inits = [f for f in module.functions if f.qualname == f"{cls.qualname}.__init__"]
            if len(inits) != 1 or inits[0].decorators:
                return None
            return (module, inits[0]) if self._plain_chain(module, base, depth) else None
        if base is None or base.name in PLAIN_BASES or base.text == "object":
            return module, None
        found = self._base_class(module, base)
        return self._init_of(found[0], found[1], depth + 1) if found else None

    def _plain_chain(self, module: ModuleSummary, base, depth: int) -> bool:
        """Every base up the chain is `object`, a builtin exception, or a plain project
        class: nothing whose metaclass or __new__ could take the arguments instead."""
        if base is None or base.name in PLAIN_BASES or base.text == "object":
            return True
        if base.kind == "subscript":
            return base.name in PLAIN_BASES
        if base.kind == "name" and base.text in BUILTIN_EXCEPTIONS and base.name == base.text:
            bindings = self.symbols.names_of(module)
            return bindings is not None and not bindings.of(base.text)
        found = self._base_class(module, base)
        if found is None or depth > MAX_DEPTH:
            return False
        target, cls = found
        if cls.decorators or cls.keywords or "__new__" in cls.methods or len(cls.bases) > 1:
            return False
        return self._plain_chain(target, cls.bases[0] if cls.bases else None, depth + 1)

    def _base_class(self, module: ModuleSummary, base) -> tuple[ModuleSummary, ClassFact] | None:
        if base.kind not in ("name", "attr"):
            return None
        head, _, rest = base.text.partition(".")
        found = self._lookup(module, "", head)
        if found is None:
            return None
        how, value = found
        if how == "module" and not rest:
            cls = self.project.class_named(module, head)
            return (module, cls) if cls is not None else None
        if how != "import":
            return None
        callee = self._imported(f"{value}.{rest}" if rest else value, base.text)
        if callee is None or callee.kind != "class":
            return None
        owner, _, name = (f"{value}.{rest}" if rest else value).rpartition(".")
        resolved = self.symbols.module(owner)
        if resolved is None:
            return None
        cls = self.project.class_named(resolved.summary, name)
        return (resolved.summary, cls) if cls is not None else None

    def _self_method(self, module: ModuleSummary, scope: str, name: str) -> Callee | None:
        """`self.name()` inside method `scope`, when no other project class defines `name`
        (a subclass could override it with another signature) and nothing assigns it."""
        fn = module.function(scope)
        cls = self.project.class_named(module, fn.class_name) if fn else None
        if cls is None or self.method_owners().get(name, 0) != 1:
            return None
        if name in self.assigned_on_instances():
            return None
        owner = self._method_owner(module, cls, name, 0)
        if owner is None:
            return None
        where, method = owner
        decorators = {d.name for d in method.decorators}
        if decorators - {"staticmethod", "classmethod"}:
            return None
        if method.decorators and method.decorators[0].kind != "name":
            return None
        bound = "staticmethod" not in decorators
        return Callee(where, f"self.{name}", method, bound, "method",
                      Location(where.path, method.def_line or method.line))

    def _method_owner(self, module: ModuleSummary, cls: ClassFact, name: str, depth: int):
        if depth > MAX_DEPTH or any(a.scope == cls.qualname and a.target == name for a in module.assignments):
            return None
        if name in cls.methods:
            found = [f for f in module.functions if f.qualname == f"{cls.qualname}.{name}"]
            return (module, found[0]) if len(found) == 1 else None
        if len(cls.bases) != 1:
            return None
        base = self._base_class(module, cls.bases[0])
        return self._method_owner(base[0], base[1], name, depth + 1) if base else None

    def assigned_on_instances(self) -> set[str]:
        """Attribute names assigned through self/cls anywhere (`self.run = other`)."""
        if self._assigned is None:
            self._assigned = {a.target.split(".", 1)[1] for summary in self.project.summaries()
                              for a in summary.assignments if a.target.startswith(("self.", "cls."))}
        return self._assigned

    def method_owners(self) -> dict[str, int]:
        """Method name -> how many methods of that name the project defines."""
        if self._method_owners is None:
            counts: dict[str, int] = {}
            for summary in self.project.summaries():
                for fn in summary.functions:
                    if fn.class_name:
                        counts[fn.name] = counts.get(fn.name, 0) + 1
            self._method_owners = counts
        return self._method_owners

    # -- matching ------------------------------------------------------------------------
    @staticmethod
    def problem(callee: Callee, call: CallFact) -> str:
        params: list[ParamFact] = list(callee.function.params) if callee.function else []
        if any(p.kind in ("vararg", "kwarg") for p in params):
            return ""
        if callee.bound and callee.function is not None:
            if not params or params[0].kind not in ("posonly", "arg"):
                return ""
            params = params[1:]
        positional = [p for p in params if p.kind in ("posonly", "arg")]
        if len(call.args) > len(positional):
            takes = f"takes {len(positional)}" if positional else "takes no positional arguments"
            given = f"{len(call.args)} positional argument{'s' if len(call.args) > 1 else ''}"
            return f"{given} given, it {takes}"
        filled = {p.name for p in positional[: len(call.args)]}
        by_name = {p.name: p for p in params if p.kind in ("arg", "kwonly")}
        for key, _ in call.keywords:
            if key == "**":
                return ""
            if key not in by_name:
                return f"unexpected keyword argument `{key}`"
            if key in filled:
                return f"`{key}` given twice (by position and by keyword)"
            filled.add(key)
        missing = [p.name for p in params if p.default is None and p.name not in filled]
        if missing:
            names = ", ".join(f"`{m}`" for m in missing)
            return f"missing required argument{'s' if len(missing) > 1 else ''} {names}"
        return ""
