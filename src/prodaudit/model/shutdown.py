"""What the app starts at startup and whether its shutdown stops it.

Built from the background model (hooks, tasks they start) and two per-module facts
(extractors/task_handles.py): where each task object goes, and which names a module
hands on. A task counts as stopped when its handle is cancelled, awaited or handed to
anything anywhere in the project; a client as closed when any `.close()`/`.aclose()`/
`.dispose()` is called on an attribute or global of its name. Both over-approximate, so
"never stopped" is a claim the code supports.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.background import BackgroundJob, Hook
from prodaudit.model.extractors.task_handles import HandedOnNames, TaskStart

CLOSERS = frozenset({"close", "aclose", "dispose", "disconnect", "shutdown", "terminate",
                     "wait_closed", "close_all", "stop"})
CLIENT_CONSTRUCTORS = frozenset({
    "httpx.AsyncClient", "httpx.Client", "aiohttp.ClientSession",
    "redis.asyncio.Redis", "redis.asyncio.from_url", "redis.asyncio.Redis.from_url",
    "redis.asyncio.client.Redis", "redis.Redis", "redis.from_url", "redis.Redis.from_url",
    "aioredis.from_url", "aioredis.Redis", "asyncpg.create_pool",
    "sqlalchemy.ext.asyncio.create_async_engine", "sqlalchemy.create_engine",
    "motor.motor_asyncio.AsyncIOMotorClient", "aio_pika.connect_robust", "aio_pika.connect",
})


@dataclass(frozen=True)
class StartedTask:
    job: BackgroundJob
    hook: Hook
    handle: str  # "" when the task object is dropped
    stopped: bool  # cancelled, awaited or handed on somewhere (see module doc)


@dataclass(frozen=True)
class StartedClient:
    hook: Hook
    location: Location
    constructor: str
    handle: str  # "app.state.http", "self._redis", a global name
    closed: bool


@dataclass(frozen=True)
class ShutdownModel:
    tasks: tuple[StartedTask, ...]
    clients: tuple[StartedClient, ...]
    # Where shutdown happens: shutdown hooks and lifespan functions.
    shutdown_code: tuple[Location, ...]


def build_shutdown(project) -> ShutdownModel:
    background = project.background
    graph = project.callgraph
    starting = {h.function: h for h in background.hooks if h.kind in ("lifespan", "startup")}
    handed_on: set[str] = set()
    starts: dict[tuple[str, int], TaskStart] = {}
    for module in project.summaries("source"):
        for fact in module.facts_of(HandedOnNames):
            handed_on |= fact.names
        for fact in module.facts_of(TaskStart):
            starts[(module.path, fact.line)] = fact
    stopping = {h.function: h.kind for h in background.hooks if h.kind in ("shutdown", "lifespan")}
    shutdown_functions = set(graph.reachable(stopping, kinds=("call",), max_depth=3))
    cancels_all = _cancels_all_tasks(project, shutdown_functions)
    tasks = []
    for job in background.jobs:
        hook = starting.get(job.hook)
        start = starts.get((job.location.path, job.location.line))
        if job.kind != "task" or hook is None or start is None or start.stored in ("kept", "awaited"):
            continue
        if cancels_all:
            stopped = True  # shutdown cancels every task of the loop
        elif start.stored == "discarded":
            stopped = False
        elif "." not in start.handle and not start.is_global:
            stopped = start.used_later
        else:
            stopped = start.handle.rsplit(".", 1)[-1] in handed_on
        tasks.append(StartedTask(job, hook, start.handle, stopped))

    closed = _closed_names(project, shutdown_functions)
    clients = []
    reach = graph.reachable({key: key for key in starting}, kinds=("call",), max_depth=3)
    for key, (hook_key, _) in sorted(reach.items()):
        node = graph.nodes.get(key)
        if node is None:
            continue
        declared = {name for scope, name in node.module.globals_declared if scope == node.fact.qualname}
        for call in node.module.calls:
            if call.scope != node.fact.qualname or call.name not in CLIENT_CONSTRUCTORS:
                continue
            target = call.target
            if call.with_item or not target or ("." not in target and target not in declared):
                continue  # context-managed, or a local whose fate this model does not follow
            clients.append(StartedClient(starting[hook_key], Location(node.module.path, call.line),
                                         call.name, target,
                                         "*" in closed or target.rsplit(".", 1)[-1] in closed))
    shutdown = sorted({h.location for h in background.hooks if h.kind in ("shutdown", "lifespan")})
    return ShutdownModel(tuple(tasks), tuple(clients), tuple(shutdown))


def _cancels_all_tasks(project, shutdown_functions: set[str]) -> bool:
    """Shutdown code that walks `asyncio.all_tasks()` (and cancels what it finds)."""
    for module in project.summaries("source"):
        for call in module.calls:
            if call.name in ("asyncio.all_tasks", "asyncio.Task.all_tasks") \
                    and f"{module.module}:{call.scope}" in shutdown_functions:
                return True
    return False


def _closed_names(project, shutdown_functions: set[str]) -> set[str]:
    """Names something is closed through: `x` of `app.state.x.aclose()` / `x.close()`, and
    of closers handed on (`stack.push_async_callback(app.state.x.aclose)`). A closer
    called by shutdown code on a computed receiver (`for c in clients: await c.aclose()`)
    closes an unknown set, recorded as "*"."""
    closed: set[str] = set()
    for module in project.summaries("source"):
        loop_vars = {(loop.scope, loop.target) for loop in module.loops}
        for call in module.calls:
            in_shutdown = f"{module.module}:{call.scope}" in shutdown_functions
            texts = [call.callee] + [v.text for v in call.args if v.kind == "attr"]
            for text in texts:
                receiver, _, method = text.rpartition(".")
                if method not in CLOSERS or not receiver:
                    continue
                computed = "(" in receiver or "[" in receiver or (call.scope, receiver) in loop_vars
                if computed and in_shutdown:
                    closed.add("*")
                closed.add(receiver.rsplit(".", 1)[-1])
    return closed
