"""Client constructors and per-request reachability, shared by PA203 and PA204. Not a rule.

"Per request" means reachable from an HTTP route, a bot handler or a BackgroundTasks job
through calls and FastAPI dependencies, not through a call whose result is kept for
later: a cached factory (`@lru_cache`), a lazy global (`global _client; if _client is
None: _client = Client()`), an attribute set outside `__init__` (`self._client = ...`), a
module/app attribute (`app.state.http = ...`) or a dict cache (`_engines[url] = ...`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.facts import CallFact, ModuleSummary
from prodaudit.model.objects import OBJECTS, LibraryObject, is_cached_function

# Constructors of clients that pool connections; type names and derived objects are not.
NOT_CONSTRUCTORS = {"sqlalchemy.Engine", "sqlalchemy.engine.Engine", "sqlalchemy.ext.asyncio.AsyncEngine",
                    "redis.client.Pipeline", "redis.asyncio.client.Pipeline"}
POOLING_KINDS = {"http-client", "redis-client", "db-engine", "db-pool", "llm-client", "docker", "supabase",
                 "cloud-client"}


@dataclass(frozen=True)
class Creation:
    """A library client constructed inside a function."""

    module: ModuleSummary
    call: CallFact
    obj: LibraryObject
    function_key: str

    @property
    def location(self) -> Location:
        return Location(self.module.path, self.call.line)


def constructor(call: CallFact) -> LibraryObject | None:
    obj = OBJECTS.get(call.name)
    if obj is None or call.name in NOT_CONSTRUCTORS:
        return None
    return obj


def kept_for_later(project, module: ModuleSummary, call: CallFact) -> bool:
    """The call's result outlives the call: stored in a global, on self outside __init__,
    on another object, or in a container keyed by something (a cache)."""
    target = call.target
    scope = call.scope
    if target and "." not in target and (scope, target) in module.globals_declared:
        return True
    if target.startswith(("self.", "cls.")):
        if not scope.endswith(".__init__"):
            return True
        # A class with its own __new__ is usually a singleton whose __init__ guards itself.
        cls = project.class_named(module, scope.rsplit(".", 1)[0])
        return cls is not None and "__new__" in cls.methods
    if "." in target:
        return True
    return any(m.scope == scope and m.line == call.line and m.how in ("setitem", "call:setdefault")
               for m in module.mutations)


def per_request_entries(project) -> dict[str, str]:
    """Routes, bot handlers and BackgroundTasks jobs: code that runs once per request/message."""
    entries: dict[str, str] = {}
    for endpoint in project.routes.endpoints:
        if endpoint.handler is not None:
            entries.setdefault(endpoint.handler.key, endpoint.label)
    for handler in project.bot_handlers:
        entries.setdefault(handler.function, handler.label)
    for job in project.background.jobs:
        if job.kind == "background-task" and job.target in project.callgraph.nodes:
            entries.setdefault(job.target, f"background task added at {job.location}")
    return entries


def per_request_reach(project) -> dict[str, tuple[str, tuple]]:
    """Like CallGraph.reachable, but not through calls whose result is kept for later or
    through cached functions (they run once, not per request)."""
    graph = project.callgraph
    entries = per_request_entries(project)
    calls_at: dict[tuple[str, int], list[CallFact]] = {}
    for module in project.summaries("source"):
        for call in module.calls:
            calls_at.setdefault((module.path, call.line), []).append(call)
    seen: dict[str, tuple[str, tuple]] = {}
    queue: deque = deque()
    for key, label in sorted(entries.items()):
        if key in graph.nodes and key not in seen:
            seen[key] = (label, ())
            queue.append((key, label, ()))
    while queue:
        key, label, path = queue.popleft()
        node = graph.nodes[key]
        if len(path) >= 12 or is_cached_function(node.fact):
            continue
        for edge in graph.callees(key):
            if edge.kind not in ("call", "depends", "task") or edge.callee in seen:
                continue
            if edge.kind == "call":
                sites = [c for c in calls_at.get((node.module.path, edge.line), ())
                         if c.scope == node.fact.qualname]
                if sites and all(kept_for_later(project, node.module, c) for c in sites):
                    continue
            seen[edge.callee] = (label, path + (edge,))
            queue.append((edge.callee, label, path + (edge,)))
    return seen


def creations(project, kinds: set[str] = POOLING_KINDS) -> list[Creation]:
    """Client constructors called inside project functions (not at module level)."""
    found = []
    for module in project.summaries("source"):
        for call in module.calls:
            if not call.scope:
                continue
            obj = constructor(call)
            if obj is None or obj.kind not in kinds:
                continue
            key = f"{module.module}:{call.scope}"
            if key in project.callgraph.nodes:
                found.append(Creation(module, call, obj, key))
    return found
