"""Module-level singletons holding mutable in-memory state, where they are mutated, and
which entry points reach those mutations.

A singleton is a module-level name bound to a mutable container (dict, list, set,
defaultdict, deque, Queue, a cache) or to an instance of a project class whose methods
keep such containers on `self`. It is *mutated at run time* when a function reachable
from an entry point (route, bot handler, background job) changes it; mutations at import
time (registries filled by decorators) do not count. Read-only constants never appear.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, ClassFact, ModuleSummary
from prodaudit.model.resolve import ImportFact
from prodaudit.model.values import Value

CONTAINER_CALLS = {
    "dict": "dict", "list": "list", "set": "set", "builtins.dict": "dict",
    "collections.defaultdict": "defaultdict", "collections.deque": "deque",
    "collections.OrderedDict": "dict", "collections.Counter": "counter",
    "asyncio.Queue": "queue", "asyncio.PriorityQueue": "queue", "asyncio.LifoQueue": "queue",
    "queue.Queue": "queue", "queue.SimpleQueue": "queue", "multiprocessing.Queue": "queue",
    "cachetools.TTLCache": "cache", "cachetools.LRUCache": "cache", "cachetools.Cache": "cache",
    "cachetools.LFUCache": "cache", "weakref.WeakValueDictionary": "dict",
    "weakref.WeakKeyDictionary": "dict",
}
LITERAL_KINDS = {"dict": "dict", "list": "list", "set": "set"}


def container_kind(value: Value | None) -> str | None:
    if value is None:
        return None
    if value.kind in LITERAL_KINDS:
        return LITERAL_KINDS[value.kind]
    if value.kind == "call":
        return CONTAINER_CALLS.get(value.name)
    return None


@dataclass(frozen=True)
class StateAttribute:
    name: str  # "_attempts" for self._attempts, or the module name itself
    kind: str  # dict, list, set, defaultdict, deque, queue, cache, counter
    location: Location


@dataclass(frozen=True)
class Mutation:
    function: str  # "module:qualname"
    target: str  # "_cache" or "self._attempts"
    how: str
    location: Location


@dataclass(frozen=True)
class Singleton:
    name: str
    module: str
    path: str
    location: Location
    kind: str  # a container kind, or "instance"
    class_name: str  # project class for instances, "" for containers
    state: tuple[StateAttribute, ...]
    mutations: tuple[Mutation, ...]
    # (entry label, mutation) for run-time mutations reachable from an entry point
    reached_from: tuple[tuple[str, str, Mutation], ...]

    @property
    def key(self) -> str:
        return f"{self.module}:{self.name}"

    @property
    def mutated_at_runtime(self) -> bool:
        return bool(self.reached_from)


class StateBuilder:
    def __init__(self, project, entries: dict[str, str]):
        self.project = project
        self.graph = project.callgraph
        self.reach = self.graph.reachable(entries, kinds=("call", "depends", "task", "thread"))
        self.uses = self._instance_uses()

    def _instance_uses(self) -> dict[str, list[tuple[str, str, int, str]]]:
        """Singleton key -> (caller function key, method name, line, path) for every
        `name.method(...)` call on a module-level name, resolved through imports. This is
        what ties a mutation inside a class to one instance rather than to all of them."""
        uses: dict[str, list[tuple[str, str, int, str]]] = {}
        for module in self.project.summaries("source"):
            for call in module.calls:
                receiver, _, method = call.callee.rpartition(".")
                if not receiver or not call.scope or receiver.startswith(("self", "cls")):
                    continue
                key = self._module_level_key(module, call.scope, receiver)
                if key is not None:
                    uses.setdefault(key, []).append(
                        (f"{module.module}:{call.scope}", method, call.line, module.path))
        return uses

    def _module_level_key(self, module: ModuleSummary, scope: str, receiver: str) -> str | None:
        if "." not in receiver:
            fact = self.project.assignment(module, scope, receiver)
            if fact is not None:
                return f"{module.module}:{receiver}" if not fact.scope else None
        target = self.graph._import_target(module, receiver)
        if target is None:
            return None
        found = self.project.resolve_symbol(target)
        if found is None:
            return None
        where, name = found
        return f"{where.module}:{name}" if "." not in name else None

    def instance_reached(self, key: str, mutations: list[Mutation]) -> list[tuple[str, str, Mutation]]:
        """Mutations of this instance's state reached through calls on this instance from
        functions an entry point reaches."""
        by_function: dict[str, list[Mutation]] = {}
        for mutation in mutations:
            by_function.setdefault(mutation.function, []).append(mutation)
        out = []
        for caller, method, line, path in sorted(self.uses.get(key, ())):
            hit = self.reach.get(caller)
            if hit is None:
                continue
            label, route = hit
            start = self._method_key(mutations, method)
            if start is None:
                continue
            # Methods the called method reaches inside the project (self.helper() chains).
            inner = self.graph.reachable({start: label}, kinds=("call",), max_depth=4)
            for function, (_, inner_path) in sorted(inner.items()):
                for mutation in by_function.get(function, ()):
                    names = [self.graph.nodes[e.callee].fact.qualname for e in inner_path
                             if e.callee in self.graph.nodes]
                    description = self.graph.describe_path(label, route)
                    chain = " -> ".join([start.split(":", 1)[1], *names])
                    out.append((label, f"{description} -> {chain}", mutation))
        return out

    def _method_key(self, mutations: list[Mutation], method: str) -> str | None:
        if not mutations:
            return None
        module_name, qualname = mutations[0].function.split(":", 1)
        class_name = qualname.rsplit(".", 1)[0]
        key = f"{module_name}:{class_name}.{method}"
        return key if key in self.graph.nodes else None

    def class_state(self, module: ModuleSummary, cls: ClassFact) -> list[StateAttribute]:
        attrs: dict[str, StateAttribute] = {}
        for fact in module.assignments:
            if not fact.target.startswith("self.") or not fact.scope.startswith(cls.qualname + "."):
                continue
            kind = container_kind(fact.value)
            if kind is not None and fact.target.count(".") == 1:
                name = fact.target[5:]
                attrs.setdefault(name, StateAttribute(name, kind, Location(module.path, fact.line)))
        for fact in module.assignments:  # class-level containers: `_cache: dict = {}`
            if fact.scope == cls.qualname and "." not in fact.target:
                kind = container_kind(fact.value)
                if kind is not None:
                    attrs.setdefault(fact.target, StateAttribute(fact.target, kind, Location(module.path, fact.line)))
        return sorted(attrs.values(), key=lambda a: a.name)

    def class_mutations(self, module: ModuleSummary, cls: ClassFact, state: list[StateAttribute]) -> list[Mutation]:
        names = {a.name for a in state}
        out = []
        for mutation in module.mutations:
            if not mutation.scope.startswith(cls.qualname + "."):
                continue
            root = mutation.root
            attr = root[5:] if root.startswith("self.") else root[4:] if root.startswith("cls.") else ""
            if attr.split(".")[0] in names:
                out.append(Mutation(f"{module.module}:{mutation.scope}", root, mutation.how,
                                    Location(module.path, mutation.line)))
        return out

    def module_mutations(self, module: ModuleSummary, name: str) -> list[Mutation]:
        """Mutations of `module.name` anywhere in the project (through imports too)."""
        index = self._import_index
        aliases_by_module: dict[str, set[str]] = {}
        if index.source_by_path.get(module.path) is module:
            aliases_by_module[module.path] = {name}
        # `from app.state import cache [as c]` binds the name itself.
        named = set()
        for slot, other, fact in index.by_last_part.get(name, ()):
            found = self.project.resolve_symbol(fact.target)
            if found is not None and found[0] is module and found[1] == name:
                aliases_by_module.setdefault(other.path, set()).add(fact.local)
                named.add(slot)
        # `from app import state` then `state.cache[...] = `
        suffix = "." + name
        for slot, other, fact in index.by_module.get(id(module), ()):
            if slot not in named and (fact.is_module_import or not fact.target.endswith(suffix)):
                aliases_by_module.setdefault(other.path, set()).add(f"{fact.local}.{name}")
        out = []
        for path in sorted(aliases_by_module):
            other = index.source_by_path[path]
            aliases = aliases_by_module[path]
            for mutation in other.mutations:
                if mutation.root in aliases and mutation.scope:
                    out.append(Mutation(f"{other.module}:{mutation.scope}", mutation.root,
                                        mutation.how, Location(other.path, mutation.line)))
        return out

    @cached_property
    def _import_index(self) -> _ImportIndex:
        return _ImportIndex(self.project)

    def reached(self, mutations: list[Mutation]) -> list[tuple[str, str, Mutation]]:
        """Entry label and path description for each mutation whose function is reachable."""
        out = []
        for mutation in mutations:
            hit = self.reach.get(mutation.function)
            if hit is None:
                continue
            label, path = hit
            out.append((label, self.graph.describe_path(label, path), mutation))
        return out

    def singleton_for(self, module: ModuleSummary, fact: AssignFact) -> Singleton | None:
        if "." in fact.target or fact.scope or fact.target.startswith("__"):
            return None  # dunder names (__all__) are module metadata, not state
        location = Location(module.path, fact.line)
        kind = container_kind(fact.value)
        if kind is not None:
            mutations = self.module_mutations(module, fact.target)
            return Singleton(fact.target, module.module, module.path, location, kind, "",
                             (StateAttribute(fact.target, kind, location),), tuple(mutations),
                             tuple(self.reached(mutations)))
        value = fact.value
        if value is None or value.kind != "call":
            return None
        found = self.graph.class_from_name(module, value.text.split("(")[0], value.name)
        if found is None:
            return None
        cls_module, cls = found
        state = self.class_state(cls_module, cls)
        if not state:
            return None
        mutations = self.class_mutations(cls_module, cls, state)
        # Background tasks the instance starts on itself (self._loop()) reach its state too.
        reached = self.instance_reached(f"{module.module}:{fact.target}", mutations)
        reached += [hit for hit in self.reached(mutations) if hit[0].startswith(("task ", "scheduler-job "))]
        return Singleton(fact.target, module.module, module.path, location, "instance",
                         cls.qualname, tuple(state), tuple(mutations), tuple(reached))

    def build(self) -> tuple[Singleton, ...]:
        out = []
        for module in self.project.summaries("source"):
            seen: set[str] = set()
            for fact in module.assignments:
                if fact.scope or fact.target in seen:
                    continue
                singleton = self.singleton_for(module, fact)
                if singleton is not None:
                    seen.add(fact.target)
                    out.append(singleton)
        return tuple(sorted(out, key=lambda s: (s.path, s.location.line)))


class _ImportIndex:
    """Every import of the source modules, indexed once for module_mutations (which is
    asked about each module-level container): by the last part of the imported name and
    by the project module the imported name is. Slots (module, import) number the
    imports so one import is never taken both ways."""

    def __init__(self, project):
        self.project = project
        sources = project.summaries("source")
        self.source_by_path = {module.path: module for module in sources}
        self.by_last_part: dict[str, list[tuple[tuple[int, int], ModuleSummary, ImportFact]]] = {}
        self.by_module: dict[int, list[tuple[tuple[int, int], ModuleSummary, ImportFact]]] = {}
        for module_number, other in enumerate(sources):
            for import_number, fact in enumerate(other.imports):
                slot = (module_number, import_number)
                _, dot, last = fact.target.rpartition(".")
                if dot:
                    self.by_last_part.setdefault(last, []).append((slot, other, fact))
                imported = project.module_named(fact.target)
                if imported is not None:
                    self.by_module.setdefault(id(imported), []).append((slot, other, fact))


def build_singletons(project, entries: dict[str, str]) -> tuple[Singleton, ...]:
    return StateBuilder(project, entries).build()
