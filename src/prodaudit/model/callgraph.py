"""An approximate call graph over project functions, and reachability with paths.

Calls are resolved by name, which is what static analysis can do honestly: local and
nested functions, imported functions (through re-exports), `self.method()` (with project
base classes), methods on module-level instances of project classes (`limiter.hit()`),
on `self.attr` set in the class (`self.repo = Repo()`) and on locals assigned from a
constructor in the same function. FastAPI `Depends(f)` parameters are edges too: the
framework calls them per request. Anything else (duck typing, callbacks through data)
is not followed; rules must treat "not reached" as "not known to be reached".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container
from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.facts import ClassFact, FunctionFact, ModuleSummary
from prodaudit.model.routes import dependency_calls
from prodaudit.model.values import Value

OFFLOAD = {"asyncio.to_thread", "starlette.concurrency.run_in_threadpool",
           "fastapi.concurrency.run_in_threadpool", "anyio.to_thread.run_sync"}
TASK_STARTERS = {"asyncio.create_task", "asyncio.ensure_future"}
MAX_DEPTH = 6


@dataclass(frozen=True)
class Edge:
    caller: str  # "module:qualname"
    callee: str
    line: int
    path: str
    kind: str  # call, depends, thread (run in a worker thread), task (create_task)

    @property
    def location(self) -> Location:
        return Location(self.path, self.line)


@dataclass(frozen=True)
class FunctionNode:
    key: str
    module: ModuleSummary
    fact: FunctionFact

    @property
    def location(self) -> Location:
        return Location(self.module.path, self.fact.def_line or self.fact.line)


class CallGraph:
    def __init__(self, project):
        self.project = project
        self.nodes: dict[str, FunctionNode] = {}
        self.edges_from: dict[str, list[Edge]] = {}
        self._edges_to: dict[str, list[Edge]] | None = None
        for module in project.summaries("source"):
            for fn in module.functions:
                key = f"{module.module}:{fn.qualname}"
                self.nodes[key] = FunctionNode(key, module, fn)
        for module in project.summaries("source"):
            self._edges_of(module)

    # -- resolution --------------------------------------------------------------------
    def key_of(self, module: ModuleSummary, qualname: str) -> str | None:
        key = f"{module.module}:{qualname}"
        return key if key in self.nodes else None

    def class_from_name(self, module: ModuleSummary, written: str, resolved: str) -> tuple[ModuleSummary, ClassFact] | None:
        if "." not in written:
            local = self.project.class_named(module, written)
            if local is not None:
                return module, local
        found = self.project.resolve_symbol(resolved) if resolved else None
        if found is None:
            return None
        target, name = found
        cls = self.project.class_named(target, name)
        return (target, cls) if cls else None

    def method(self, module: ModuleSummary, cls: ClassFact, name: str, depth: int = 0) -> str | None:
        if name in cls.methods:
            return self.key_of(module, f"{cls.qualname}.{name}")
        if depth > MAX_DEPTH:
            return None
        for base in cls.bases:
            if base.kind not in ("name", "attr"):
                continue
            found = self.class_from_name(module, base.text, base.name)
            if found is not None:
                key = self.method(found[0], found[1], name, depth + 1)
                if key:
                    return key
        return None

    def instance_class(self, module: ModuleSummary, scope: str, receiver: str) -> tuple[ModuleSummary, ClassFact] | None:
        """The project class of `receiver` ("limiter", "self.repo", "repo") when evident."""
        value: Value | None = None
        where = module
        if receiver.startswith("self.") and receiver.count(".") == 1:
            class_name = self._class_of_scope(module, scope)
            if class_name:
                for fact in module.assignments_to(receiver):
                    if fact.scope.startswith(class_name + "."):
                        value = fact.value
        else:
            fact = self.project.assignment(module, scope, receiver) if "." not in receiver else None
            if fact is not None:
                value = fact.value
            else:
                # An imported module-level instance: `from app.limits import limiter`.
                resolved = self._import_target(module, receiver)
                if resolved:
                    found = self.project.resolve_symbol(resolved)
                    if found is not None:
                        where, name = found
                        assigned = self.project.assignment(where, "", name)
                        value = assigned.value if assigned else None
        if value is not None and value.kind == "await" and value.items:
            value = value.items[0]
        if value is None or value.kind != "call":
            return None
        written = value.text.split("(")[0]
        return self.class_from_name(where, written, value.name)

    @staticmethod
    def _import_target(module: ModuleSummary, dotted: str) -> str | None:
        head, _, rest = dotted.partition(".")
        fact = module.import_binding(head)
        return fact.target + ("." + rest if rest else "") if fact is not None else None

    def _class_of_scope(self, module: ModuleSummary, scope: str) -> str:
        fn = module.function(scope)
        return fn.class_name if fn else ""

    def resolve_call(self, module: ModuleSummary, scope: str, callee: str, resolved: str) -> str | None:
        if "(" in callee or "[" in callee:
            return None
        if "." not in callee:
            parts = scope.split(".") if scope else []
            # Python name lookup: enclosing *function* scopes, then the module (never a
            # class body, so a bare `helper()` in a method is not `Class.helper`).
            for cut in range(len(parts), -1, -1):
                enclosing = ".".join(parts[:cut])
                if cut and module.function(enclosing) is None:
                    continue
                key = self.key_of(module, f"{enclosing}.{callee}" if enclosing else callee)
                if key:
                    return key
            cls = self.project.class_named(module, callee)
            if cls is not None:
                return self.method(module, cls, "__init__")
            if resolved != callee:
                return self._project_function(resolved)
            return None
        receiver, _, method = callee.rpartition(".")
        if receiver in ("self", "cls"):
            class_name = self._class_of_scope(module, scope)
            cls = self.project.class_named(module, class_name) if class_name else None
            return self.method(module, cls, method) if cls else None
        if resolved != callee:
            key = self._project_function(resolved)
            if key:
                return key
        found = self.instance_class(module, scope, receiver)
        if found is not None:
            return self.method(found[0], found[1], method)
        return None

    def _project_function(self, dotted: str) -> str | None:
        found = self.project.resolve_symbol(dotted)
        if found is None:
            return None
        module, name = found
        if module.function(name):
            return self.key_of(module, name)
        head, _, method = name.rpartition(".")
        cls = self.project.class_named(module, name)
        if cls is not None:
            return self.method(module, cls, "__init__")
        if head:
            cls = self.project.class_named(module, head)
            if cls is not None:
                return self.method(module, cls, method)
        return None

    # -- edges -------------------------------------------------------------------------
    def _add(self, caller: str, callee: str | None, line: int, path: str, kind: str) -> None:
        if callee and callee != caller:
            self.edges_from.setdefault(caller, []).append(Edge(caller, callee, line, path, kind))

    def _edges_of(self, module: ModuleSummary) -> None:
        for call in module.calls:
            caller = self.key_of(module, call.scope) if call.scope else None
            if caller is None:
                continue
            self._add(caller, self.resolve_call(module, call.scope, call.callee, call.name),
                      call.line, module.path, "call")
            if call.name in OFFLOAD and call.args:
                ref = call.args[0]
                if ref.kind in ("name", "attr"):
                    self._add(caller, self.resolve_call(module, call.scope, ref.text, ref.name),
                              call.line, module.path, "thread")
        for fn in module.functions:
            caller = f"{module.module}:{fn.qualname}"
            for param in fn.params:
                for call, where in dependency_calls(self.project, module, param):
                    target = call.items[0] if call.items else None
                    if target is not None and target.kind in ("name", "attr"):
                        scope = fn.parent if where is module else ""
                        self._add(caller, self.resolve_call(where, scope, target.text, target.name),
                                  call.line or fn.line, module.path, "depends")

    # -- queries -----------------------------------------------------------------------
    def callees(self, key: str) -> list[Edge]:
        return self.edges_from.get(key, [])

    def callers(self, key: str) -> list[Edge]:
        """Edges into `key` (a reverse index, built on first use)."""
        if self._edges_to is None:
            reverse: dict[str, list[Edge]] = {}
            for edges in self.edges_from.values():
                for edge in edges:
                    reverse.setdefault(edge.callee, []).append(edge)
            self._edges_to = reverse
        return self._edges_to.get(key, [])

    def reachable(self, entries: dict[str, str], kinds: tuple[str, ...] = ("call", "depends", "task"),
                  max_depth: int = 12, stop_at: Container[str] = ()) -> dict[str, tuple[str, tuple[Edge, ...]]]:
        """key -> (entry label, edges from that entry), shortest path first; entries maps
        function keys to labels such as "POST /auth/login". With `stop_at`, the search ends
        at the first key found in it (breadth first: none found later has a shorter path)."""
        seen: dict[str, tuple[str, tuple[Edge, ...]]] = {}
        queue: deque[tuple[str, str, tuple[Edge, ...]]] = deque()
        for key, label in sorted(entries.items()):
            if key in self.nodes and key not in seen:
                seen[key] = (label, ())
                queue.append((key, label, ()))
        while queue:
            key, label, path = queue.popleft()
            if len(path) >= max_depth:
                continue
            for edge in self.edges_from.get(key, ()):
                if edge.kind not in kinds or edge.callee in seen:
                    continue
                seen[edge.callee] = (label, path + (edge,))
                if edge.callee in stop_at:
                    return seen
                queue.append((edge.callee, label, path + (edge,)))
        return seen

    def describe_path(self, label: str, path: tuple[Edge, ...]) -> str:
        names = [self.nodes[path[0].caller].fact.qualname] if path else []
        names += [self.nodes[e.callee].fact.qualname for e in path if e.callee in self.nodes]
        return f"{label} via {' -> '.join(names)}" if names else label
