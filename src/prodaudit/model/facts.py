"""The per-module facts: frozen, picklable records the summary step produces.

They are deliberately generic (calls, functions, classes, assignments, mutations,
exception handlers, comments). The project model (routes, ORM, settings, singletons)
interprets them; rules ask the model. Scopes are qualified names inside the module:
"" for module level, "Class" for a class body, "func" / "Class.method" / "outer.inner".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prodaudit.findings import Finding
from prodaudit.model.resolve import ImportFact
from prodaudit.model.values import Value


@dataclass(frozen=True)
class LineStats:
    """Physical lines: blank = whitespace only; comment = first non-blank char is '#';
    code = every other line (docstrings and multi-line strings count as code)."""

    total: int = 0
    code: int = 0
    comment: int = 0
    blank: int = 0


@dataclass(frozen=True)
class ParamFact:
    name: str
    kind: str  # posonly, arg, vararg, kwonly, kwarg
    annotation: Value | None = None
    default: Value | None = None


@dataclass(frozen=True)
class FunctionFact:
    qualname: str
    name: str
    line: int
    end_line: int
    is_async: bool
    class_name: str = ""  # enclosing class qualname for methods
    parent: str = ""  # enclosing function qualname for nested functions
    decorators: tuple[Value, ...] = ()
    params: tuple[ParamFact, ...] = ()
    returns: Value | None = None  # the annotation
    # What `return` statements return (None for a bare `return`), in order.
    return_values: tuple[Value | None, ...] = ()
    # Body is only docstring / pass / ... / raise NotImplementedError.
    is_stub: bool = False
    has_yield: bool = False
    has_docstring: bool = False
    await_count: int = 0
    # Line of the `def` keyword (decorators come before it).
    def_line: int = 0
    complexity: int = 1  # McCabe-style: 1 + decision points


@dataclass(frozen=True)
class ClassFact:
    qualname: str
    name: str
    line: int
    end_line: int
    bases: tuple[Value, ...] = ()
    keywords: tuple[tuple[str, Value], ...] = ()  # metaclass=..., table=True
    decorators: tuple[Value, ...] = ()
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallFact:
    scope: str
    callee: str  # as written: "requests.get", "self.client.get", "router.get"
    name: str  # resolved through imports: "requests.get"; as written when unresolved
    line: int
    column: int
    end_line: int
    awaited: bool = False
    in_loop: bool = False
    in_try: bool = False
    in_except: bool = False
    discarded: bool = False  # an expression statement: the result is dropped
    target: str = ""  # `x = call()` / `async with call() as x` -> "x"
    with_item: bool = False  # used as a context manager
    is_decorator: bool = False
    args: tuple[Value, ...] = ()
    keywords: tuple[tuple[str, Value], ...] = ()
    has_star_args: bool = False

    def keyword(self, key: str) -> Value | None:
        for name, value in self.keywords:
            if name == key:
                return value
        return None

    def as_value(self) -> Value:
        return Value("call", self.callee, name=self.name, items=self.args,
                     keywords=self.keywords, line=self.line)


@dataclass(frozen=True)
class AssignFact:
    scope: str
    target: str  # "x", "self.x", "Class.x" as written (first target for chains)
    line: int
    value: Value | None = None
    annotation: Value | None = None
    augmented: str = ""  # operator name for `x += 1`, e.g. "Add"


@dataclass(frozen=True)
class MutationFact:
    """State changed in place: `root[k] = v`, `root.append(x)`, `del root[k]`, `g += 1`.

    `root` is the dotted name whose object changes ("_cache", "self._attempts"). Only
    non-local roots are recorded: module globals (names not bound in the function) and
    attributes of self/cls.
    """

    scope: str
    root: str
    how: str  # setitem, delitem, setattr, augassign, rebind (global), call:<method>
    line: int
    keyed: bool = False  # through a subscript: root[key]...


@dataclass(frozen=True)
class ExceptFact:
    scope: str
    line: int
    kind: str  # bare, broad (Exception/BaseException), specific
    types: tuple[str, ...] = ()  # resolved exception names
    reraises: bool = False  # body contains a bare `raise` or `raise ... from`
    logs: bool = False  # body calls a logging-like method
    body_kinds: tuple[str, ...] = ()  # statement kinds of the body: pass, continue, return...
    end_line: int = 0


@dataclass(frozen=True)
class LoopFact:
    """A `for` loop: what it iterates over, so a call inside it that uses the loop
    variable (`for r in routers: app.include_router(r)`) can be expanded."""

    scope: str
    target: str  # the loop variable as written ("r", "a, b")
    iterable: Value | None
    line: int
    end_line: int
    is_async: bool = False


@dataclass(frozen=True)
class CommentFact:
    line: int
    tag: str  # TODO, FIXME, HACK, XXX
    text: str


@dataclass(frozen=True)
class SuppressionFact:
    line: int  # the line the suppression applies to
    written_at: int  # the line the comment is on
    codes: tuple[str, ...]  # empty = all
    reason: str
    kind: str  # "prodaudit" or "noqa"
    file_level: bool = False


@dataclass(frozen=True)
class ParseProblem:
    kind: str  # syntax, decode, newer-syntax
    message: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class ModuleSummary:
    path: str
    module: str  # dotted path from the audit root ("backend.app.routers.auth")
    kind: str
    is_package: bool
    digest: str
    stats: LineStats = LineStats()
    problem: ParseProblem | None = None
    imports: tuple[ImportFact, ...] = ()
    functions: tuple[FunctionFact, ...] = ()
    classes: tuple[ClassFact, ...] = ()
    assignments: tuple[AssignFact, ...] = ()
    calls: tuple[CallFact, ...] = ()
    mutations: tuple[MutationFact, ...] = ()
    excepts: tuple[ExceptFact, ...] = ()
    loops: tuple[LoopFact, ...] = ()
    comments: tuple[CommentFact, ...] = ()
    suppressions: tuple[SuppressionFact, ...] = ()
    # `if __name__ == "__main__":` at module level: the file is also run as a script.
    has_main_guard: bool = False
    # Names declared `global` per function scope.
    globals_declared: tuple[tuple[str, str], ...] = ()
    findings: tuple[Finding, ...] = ()
    # Specialised facts recorded by model extractors (N+1 loops, SQL strings...); filter
    # them by type with facts_of().
    extra: tuple[object, ...] = field(default=())

    # Lookups the project model makes hundreds of thousands of times go through indexes
    # built on first use and kept in the instance's __dict__ under "_" names: never
    # pickled (see __getstate__), never compared (not fields).
    def facts_of(self, kind: type) -> list:
        try:
            by_kind = self._extra_by_kind
        except AttributeError:
            by_kind = self._keep("_extra_by_kind", {})
        found = by_kind.get(kind)
        if found is None:
            found = by_kind[kind] = self._facts_of_kind(kind)
        return list(found)

    def _facts_of_kind(self, kind: type) -> tuple:
        try:
            by_type = self._extra_by_type
        except AttributeError:
            by_type = self._keep("_extra_by_type", {})
            for fact in self.extra:
                by_type.setdefault(type(fact), []).append(fact)
        matching = [found_type for found_type in by_type if issubclass(found_type, kind)]
        if len(matching) == 1:
            return tuple(by_type[matching[0]])
        if not matching:
            return ()
        return tuple(fact for fact in self.extra if isinstance(fact, kind))  # in order

    def function(self, qualname: str) -> FunctionFact | None:
        try:
            index = self._functions_by_qualname
        except AttributeError:
            index = self._keep("_functions_by_qualname", _first_by(self.functions, "qualname"))
        return index.get(qualname)

    def last_assignment(self, scope: str, target: str) -> AssignFact | None:
        """The last assignment of `target` (as written) directly in `scope`."""
        try:
            index = self._assignments_by_place
        except AttributeError:
            # A dict keeps the last value written for a key: the last assignment wins.
            index = self._keep("_assignments_by_place",
                               {(fact.scope, fact.target): fact for fact in self.assignments})
        return index.get((scope, target))

    def class_fact(self, qualname: str) -> ClassFact | None:
        try:
            index = self._classes_by_qualname
        except AttributeError:
            index = self._keep("_classes_by_qualname", _first_by(self.classes, "qualname"))
        return index.get(qualname)

    def assignments_to(self, target: str) -> tuple[AssignFact, ...]:
        """Every assignment of `target` (as written: "x", "self.x"), in source order."""
        try:
            index = self._assignments_by_target
        except AttributeError:
            grouped: dict[str, list[AssignFact]] = {}
            for fact in self.assignments:
                grouped.setdefault(fact.target, []).append(fact)
            index = self._keep("_assignments_by_target", {key: tuple(found) for key, found in grouped.items()})
        return index.get(target, ())

    def calls_in(self, scope: str) -> tuple[CallFact, ...]:
        """The calls made directly in `scope`, in source order."""
        try:
            index = self._calls_by_scope
        except AttributeError:
            grouped: dict[str, list[CallFact]] = {}
            for call in self.calls:
                grouped.setdefault(call.scope, []).append(call)
            index = self._keep("_calls_by_scope", {key: tuple(found) for key, found in grouped.items()})
        return index.get(scope, ())

    def import_binding(self, local: str) -> ImportFact | None:
        """The first import that binds `local` (anywhere in the module)."""
        try:
            index = self._imports_by_local
        except AttributeError:
            index = self._keep("_imports_by_local", _first_by(self.imports, "local"))
        return index.get(local)

    def _keep(self, name: str, index):
        object.__setattr__(self, name, index)  # frozen: bypass, it is not a field
        return index

    def __getstate__(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if not key.startswith("_")}


def _first_by(facts, attribute: str) -> dict:
    """attribute value -> the first fact with it (what a scan in order would find)."""
    index: dict = {}
    for fact in facts:
        index.setdefault(getattr(fact, attribute), fact)
    return index
