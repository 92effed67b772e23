"""One pass over a module's syntax tree that records the generic facts (model/facts.py).

Modelled on pyflakes' habit: scopes are tracked while walking. Whether a name is local
to a function is only known once its whole body has been seen, so changes of possibly
non-local state are held per function and kept or dropped when the function ends. One
pass matters: this visitor is most of the cold-run cost.
"""

from __future__ import annotations

import ast

from prodaudit.model.astwalk import CHILD_FIELDS, child_nodes
from prodaudit.model.facts import (
    AssignFact,
    CallFact,
    ClassFact,
    ExceptFact,
    FunctionFact,
    LoopFact,
    MutationFact,
    ParamFact,
)
from prodaudit.model.resolve import ImportTable
from prodaudit.model.values import Value, dotted_name, source_text, to_value

MUTATING_METHODS = frozenset({
    "append", "appendleft", "extend", "extendleft", "insert", "add", "update", "pop",
    "popleft", "popitem", "clear", "setdefault", "remove", "discard", "put", "put_nowait",
    "__setitem__", "__delitem__",
})
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical",
                         "log", "print_exc", "capture_exception"})
BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException", "builtins.Exception",
                              "builtins.BaseException"})
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
_OTHER_SCOPES = (*_FUNCS, ast.ClassDef, ast.Lambda)  # their bodies run at another time
_DECISIONS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp, ast.ExceptHandler,
              ast.With, ast.AsyncWith, ast.Assert, ast.comprehension, ast.match_case)


def is_stub_body(body: list[ast.stmt]) -> bool:
    statements = list(body)
    if statements and isinstance(statements[0], ast.Expr) and isinstance(
        statements[0].value, ast.Constant) and isinstance(statements[0].value.value, str):
        statements = statements[1:]
    if not statements:
        return True
    if len(statements) != 1:
        return False
    only = statements[0]
    if isinstance(only, ast.Pass):
        return True
    if isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) and only.value.value is Ellipsis:
        return True
    if isinstance(only, ast.Raise) and only.exc is not None:
        exc = only.exc.func if isinstance(only.exc, ast.Call) else only.exc
        return dotted_name(exc) in {"NotImplementedError", "NotImplemented"}
    return False


_DECISION_SET = frozenset(_DECISIONS)


class _Frame:
    """What one function's body tells while it is visited."""

    __slots__ = ("awaits", "bound", "complexity", "declared", "has_yield", "pending", "returns")

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.declared: set[str] = set()
        self.pending: list[MutationFact] = []
        self.returns: list[tuple[int, Value | None]] = []
        self.has_yield = False
        self.complexity = 1
        self.awaits = 0


class FactCollector(ast.NodeVisitor):
    def __init__(self, imports: ImportTable):
        self.imports = imports
        self._resolve = imports.resolve
        self.functions: list[FunctionFact] = []
        self.classes: list[ClassFact] = []
        self.calls: list[CallFact] = []
        self.assignments: list[AssignFact] = []
        self.mutations: list[MutationFact] = []
        self.excepts: list[ExceptFact] = []
        self.loops: list[LoopFact] = []
        self.has_main_guard = False
        self.globals_declared: list[tuple[str, str]] = []
        # qualname -> (local names, names declared global/nonlocal), for extractors: not
        # pickled, so it costs nothing in the cache.
        self.function_locals: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._scope: list[str] = []  # qualname parts
        self._scope_name = ""  # ".".join(self._scope), asked for by every fact
        self._scope_kinds: list[str] = []  # "class" / "function"
        self._frames: list[_Frame] = []  # one per function being visited
        self._dispatch: dict[type, object] = {}
        self._loop_depth: list[int] = [0]
        self._try_depth: list[int] = [0]
        self._except_depth: list[int] = [0]
        self._awaited: set[int] = set()
        self._discarded: set[int] = set()
        self._targets: dict[int, str] = {}
        self._with_items: set[int] = set()
        self._decorator_calls: set[int] = set()

    # -- helpers -------------------------------------------------------------------
    @property
    def scope(self) -> str:
        return self._scope_name

    def value(self, node: ast.AST | None) -> Value | None:
        return to_value(node, self._resolve)

    def resolve_node(self, node: ast.AST) -> str:
        dotted = dotted_name(node)
        return self.imports.resolve(dotted) if dotted else ""

    def in_function(self) -> bool:
        return bool(self._scope_kinds) and self._scope_kinds[-1] == "function"

    def _mutation(self, root: str, how: str, line: int, keyed: bool = False) -> None:
        """Record a change of non-local state. Inside a function, whether `root` is local
        is only known once the whole body has been seen (Python decides scope per
        function), so the decision waits for the function's end."""
        head = root.split(".")[0]
        if head in ("self", "cls"):
            if "." in root:
                self.mutations.append(MutationFact(self.scope, root, how, line, keyed))
            return
        if not self._frames:
            self.mutations.append(MutationFact(self.scope, root, how, line, keyed))
            return
        self._frames[-1].pending.append(MutationFact(self.scope, root, how, line, keyed))

    def visit(self, node: ast.AST) -> None:
        kind = node.__class__
        method = self._dispatch.get(kind)
        if method is None:
            method = getattr(self, "visit_" + kind.__name__, self.generic_visit)
            self._dispatch[kind] = method
        if self._frames and kind in _DECISION_SET:
            self._frames[-1].complexity += 1
        method(node)

    def generic_visit(self, node: ast.AST) -> None:
        # astwalk.child_nodes, inlined: this loop runs for most nodes of every module.
        visit = self.visit
        for name in CHILD_FIELDS[node.__class__]:
            value = getattr(node, name, None)
            if value is None:
                continue
            if value.__class__ is list:
                for child in value:
                    if child is not None:
                        visit(child)
            else:
                visit(value)

    def visit_Constant(self, node: ast.Constant) -> None:
        # Holds no nodes. Defined so that ast.NodeVisitor's own visit_Constant (it looks
        # for the deprecated visit_Num/visit_Str on every constant) is not used.
        pass

    # -- names that decide what is local -------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if self._frames and not isinstance(node.ctx, ast.Load):
            self._frames[-1].bound.add(node.id)

    def _declare(self, node: ast.Global | ast.Nonlocal) -> None:
        if self._frames:
            self._frames[-1].declared.update(node.names)

    visit_Global = _declare
    visit_Nonlocal = _declare

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self._frames:
            for alias in node.names:
                self._frames[-1].bound.add((alias.asname or alias.name).split(".")[0])

    visit_Import = _import
    visit_ImportFrom = _import

    def _match_name(self, node: ast.MatchAs | ast.MatchStar) -> None:
        if self._frames and node.name:
            self._frames[-1].bound.add(node.name)
        self.generic_visit(node)

    visit_MatchAs = _match_name
    visit_MatchStar = _match_name

    def visit_Return(self, node: ast.Return) -> None:
        if self._frames:
            self._frames[-1].returns.append((node.lineno, self.value(node.value)))
        self.generic_visit(node)

    def _yield(self, node: ast.AST) -> None:
        if self._frames:
            self._frames[-1].has_yield = True
        self.generic_visit(node)

    visit_Yield = _yield
    visit_YieldFrom = _yield

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        if self._frames:
            self._frames[-1].complexity += len(node.values) - 1
        self.generic_visit(node)

    # -- scopes --------------------------------------------------------------------
    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call):
                self._decorator_calls.add(id(deco))
        qualname = ".".join([*self._scope, node.name])
        methods = tuple(n.name for n in node.body if isinstance(n, _FUNCS))
        self.classes.append(ClassFact(
            qualname=qualname, name=node.name, line=node.lineno,
            end_line=node.end_lineno or node.lineno,
            bases=tuple(v for v in map(self.value, node.bases) if v),
            keywords=tuple((kw.arg or "**", self.value(kw.value) or Value("other"))
                           for kw in node.keywords),
            decorators=tuple(v for v in map(self.value, node.decorator_list) if v),
            methods=methods,
        ))
        # Decorators and bases belong to the enclosing scope.
        for child in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            self.visit(child)
        if self._frames:
            self._frames[-1].bound.add(node.name)
        outer_scope_name, self._scope_name = self._scope_name, qualname
        self._scope.append(node.name)
        self._scope_kinds.append("class")
        # A class body is not a function: its names do not make anything local.
        frames, self._frames = self._frames, []
        for stmt in node.body:
            self.visit(stmt)
        self._frames = frames
        self._scope.pop()
        self._scope_name = outer_scope_name
        self._scope_kinds.pop()

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            if isinstance(deco, ast.Call):
                self._decorator_calls.add(id(deco))
        class_name = self.scope if self._scope_kinds and self._scope_kinds[-1] == "class" else ""
        parent = self.scope if self.in_function() else ""
        qualname = ".".join([*self._scope, node.name])
        # Decorators, defaults and annotations are evaluated in the enclosing scope.
        outer = [*node.decorator_list, *node.args.defaults,
                 *(d for d in node.args.kw_defaults if d is not None)]
        for child in outer:
            self.visit(child)
        if self._frames:
            self._frames[-1].bound.add(node.name)

        frame = _Frame()
        args = node.args
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None:
                frame.bound.add(arg.arg)
        outer_scope_name, self._scope_name = self._scope_name, qualname
        self._scope.append(node.name)
        self._scope_kinds.append("function")
        self._frames.append(frame)
        self._loop_depth.append(0)
        self._try_depth.append(0)
        self._except_depth.append(0)
        for stmt in node.body:
            self.visit(stmt)
        self._frames.pop()
        self._scope.pop()
        self._scope_name = outer_scope_name
        self._scope_kinds.pop()
        self._loop_depth.pop()
        self._try_depth.pop()
        self._except_depth.pop()
        # Now the function's locals are known: keep only changes of non-local state.
        local = frame.bound - frame.declared
        self.function_locals[qualname] = (frozenset(local), frozenset(frame.declared))
        for name in sorted(frame.declared):
            self.globals_declared.append((qualname, name))
        for mutation in frame.pending:
            if mutation.how == "rebind":
                if mutation.root in frame.declared:
                    self.mutations.append(mutation)
            elif mutation.root.split(".")[0] not in local:
                self.mutations.append(mutation)
        returns = frame.returns
        has_yield = frame.has_yield
        complexity = frame.complexity
        awaits = frame.awaits

        params: list[ParamFact] = []
        positional = [*args.posonlyargs, *args.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for index, arg in enumerate(positional):
            kind = "posonly" if index < len(args.posonlyargs) else "arg"
            params.append(ParamFact(arg.arg, kind, self.value(arg.annotation), self.value(defaults[index])))
        if args.vararg:
            params.append(ParamFact(args.vararg.arg, "vararg", self.value(args.vararg.annotation)))
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            params.append(ParamFact(arg.arg, "kwonly", self.value(arg.annotation), self.value(default)))
        if args.kwarg:
            params.append(ParamFact(args.kwarg.arg, "kwarg", self.value(args.kwarg.annotation)))
        first = node.body[0] if node.body else None
        has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
        self.functions.append(FunctionFact(
            qualname=qualname, name=node.name,
            line=node.decorator_list[0].lineno if node.decorator_list else node.lineno,
            end_line=node.end_lineno or node.lineno,
            is_async=isinstance(node, ast.AsyncFunctionDef),
            class_name=class_name, parent=parent,
            decorators=tuple(v for v in map(self.value, node.decorator_list) if v),
            params=tuple(params), returns=self.value(node.returns),
            return_values=tuple(value for _, value in sorted(returns, key=lambda r: r[0])),
            is_stub=is_stub_body(node.body), has_yield=has_yield, has_docstring=has_doc,
            await_count=awaits, def_line=node.lineno, complexity=complexity,
        ))

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.generic_visit(node)

    # -- control flow context --------------------------------------------------------
    def _loop(self, node: ast.AST) -> None:
        # The iterable is evaluated once, outside the loop.
        iterable = getattr(node, "iter", None) or getattr(node, "test", None)
        if isinstance(node, (ast.For, ast.AsyncFor)):
            self.loops.append(LoopFact(self.scope, source_text(node.target), self.value(node.iter),
                                       node.lineno, node.end_lineno or node.lineno,
                                       isinstance(node, ast.AsyncFor)))
        elif isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value:
            # `while True:` loops are how periodic jobs are written by hand.
            self.loops.append(LoopFact(self.scope, "<while True>", None, node.lineno,
                                       node.end_lineno or node.lineno))
        if iterable is not None:
            self.visit(iterable)
        self._loop_depth[-1] += 1
        for child in child_nodes(node):
            if child is not iterable:
                self.visit(child)
        self._loop_depth[-1] -= 1

    visit_For = _loop
    visit_AsyncFor = _loop
    visit_While = _loop

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._loop_depth[-1] += 1
        self.generic_visit(node)
        self._loop_depth[-1] -= 1

    def _comprehension(self, node: ast.AST) -> None:
        # Element expressions run once per item: count them as inside a loop.
        self._loop_depth[-1] += 1
        self.generic_visit(node)
        self._loop_depth[-1] -= 1

    visit_ListComp = _comprehension
    visit_SetComp = _comprehension
    visit_DictComp = _comprehension
    visit_GeneratorExp = _comprehension

    def _try(self, node: ast.Try) -> None:
        self._try_depth[-1] += 1
        for stmt in node.body:
            self.visit(stmt)
        self._try_depth[-1] -= 1
        for part in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(part)

    visit_Try = _try
    visit_TryStar = _try

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        types: list[str] = []
        if node.type is not None:
            elts = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            types = [self.resolve_node(e) or "<expr>" for e in elts]
        if node.type is None:
            kind = "bare"
        elif any(t in BROAD_EXCEPTIONS for t in types):
            kind = "broad"
        else:
            kind = "specific"
        reraises = False
        logs = False
        stack: list[ast.AST] = list(node.body)
        while stack:
            child = stack.pop()
            if isinstance(child, _OTHER_SCOPES):
                continue
            if isinstance(child, ast.Raise):
                reraises = True
            elif isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute) and child.func.attr in LOG_METHODS:
                logs = True
            stack.extend(child_nodes(child))
        self.excepts.append(ExceptFact(
            scope=self.scope, line=node.lineno, kind=kind, types=tuple(types),
            reraises=reraises, logs=logs,
            body_kinds=tuple(type(s).__name__.lower() for s in node.body),
            end_line=node.end_lineno or node.lineno,
        ))
        if self._frames and node.name:
            self._frames[-1].bound.add(node.name)
        self._except_depth[-1] += 1
        self.generic_visit(node)
        self._except_depth[-1] -= 1

    def visit_If(self, node: ast.If) -> None:
        if not self._scope and _is_main_guard(node.test):
            self.has_main_guard = True
        self.generic_visit(node)

    # -- statements that give calls their context ------------------------------------
    def visit_Expr(self, node: ast.Expr) -> None:
        inner = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(inner, ast.Call):
            self._discarded.add(id(inner))
        self.generic_visit(node)

    def visit_Await(self, node: ast.Await) -> None:
        if isinstance(node.value, ast.Call):
            self._awaited.add(id(node.value))
        if self._frames:
            self._frames[-1].awaits += 1
        self.generic_visit(node)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if isinstance(item.context_expr, ast.Call):
                self._with_items.add(id(item.context_expr))
                if item.optional_vars is not None:
                    self._targets[id(item.context_expr)] = dotted_name(item.optional_vars) or ""
        self.generic_visit(node)

    visit_With = _with
    visit_AsyncWith = _with

    def _record_assign(self, target: ast.expr, value: ast.expr | None, line: int,
                       annotation: ast.expr | None = None, augmented: str = "") -> None:
        name = dotted_name(target)
        if name is not None:
            # In functions only calls are kept (`app = FastAPI()` in a factory, a client
            # created per call); other locals would only bloat the summary.
            is_call = isinstance(value, ast.Call) or (
                isinstance(value, ast.Await) and isinstance(value.value, ast.Call))
            record_here = (not self.in_function() or name.startswith(("self.", "cls."))
                           or (is_call and "." not in name))
            if record_here:
                self.assignments.append(AssignFact(
                    scope=self.scope, target=name, line=line, value=self.value(value),
                    annotation=self.value(annotation), augmented=augmented))
            in_function = self.in_function()
            if "." in name and in_function and not name.startswith(("self.", "cls.")):
                self._mutation(name.rsplit(".", 1)[0], "setattr", line)
            if augmented and in_function and "." not in name:
                self._mutation(name, "augassign", line)
            elif not augmented and in_function and "." not in name:
                # Kept at the function's end only if the name is declared `global`.
                self._frames[-1].pending.append(MutationFact(self.scope, name, "rebind", line))
            if augmented and name.startswith(("self.", "cls.")) and in_function:
                self._mutation(name, "augassign", line)
        elif isinstance(target, ast.Subscript):
            root = _subscript_root(target)
            if root:
                self._mutation(root, "setitem", line, keyed=True)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._record_assign(elt, None, line)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(value, ast.Call) and node.targets:
            self._targets[id(value)] = dotted_name(node.targets[0]) or ""
        for target in node.targets:
            self._record_assign(target, node.value, node.lineno)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(value, ast.Call):
            self._targets[id(value)] = dotted_name(node.target) or ""
        self._record_assign(node.target, node.value, node.lineno, annotation=node.annotation)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._record_assign(node.target, node.value, node.lineno, augmented=type(node.op).__name__)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript):
                root = _subscript_root(target)
                if root:
                    self._mutation(root, "delitem", node.lineno, keyed=True)
        self.generic_visit(node)

    # -- calls -----------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        callee = dotted_name(func)
        if callee is None:
            # `self._attempts[key].append(x)`, `get_client().get(url)`
            callee = _callee_text(func)
            name = callee
        else:
            name = self._resolve(callee)
        if isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
            receiver = func.value
            keyed = isinstance(receiver, ast.Subscript)
            root = _subscript_root(receiver) if keyed else dotted_name(receiver)
            # `json.dump(...)` or `logging.getLogger()` is not a container being changed.
            if root and root.split(".")[0] not in self.imports._bindings:
                self._mutation(root, f"call:{func.attr}", node.lineno, keyed)
        node_id = id(node)
        resolve = self._resolve
        args = node.args
        keywords = node.keywords
        self.calls.append(CallFact(
            scope=self._scope_name, callee=callee, name=name, line=node.lineno,
            column=node.col_offset + 1, end_line=node.end_lineno or node.lineno,
            awaited=node_id in self._awaited, in_loop=self._loop_depth[-1] > 0,
            in_try=self._try_depth[-1] > 0, in_except=self._except_depth[-1] > 0,
            discarded=node_id in self._discarded, target=self._targets.get(node_id, ""),
            with_item=node_id in self._with_items, is_decorator=node_id in self._decorator_calls,
            # to_value gives None only for None, which no argument is.
            args=tuple([to_value(arg, resolve) for arg in args[:32]]),
            keywords=tuple([(kw.arg or "**", to_value(kw.value, resolve)) for kw in keywords[:32]]),
            has_star_args=_has_star_args(args, keywords),
        ))
        self.generic_visit(node)


def _has_star_args(args: list[ast.expr], keywords: list[ast.keyword]) -> bool:
    for arg in args:
        if isinstance(arg, ast.Starred):
            return True
    for keyword in keywords:
        if keyword.arg is None:
            return True
    return False


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def _subscript_root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    return dotted_name(node)


def _callee_text(func: ast.AST) -> str:
    parts: list[str] = []
    node = func
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            parts.append("[]")
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("()")
            node = node.func
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            parts.append("<expr>")
            break
    text = ""
    for part in reversed(parts):
        if part in ("[]", "()"):
            text += part
        else:
            text += ("." if text else "") + part
    return text
