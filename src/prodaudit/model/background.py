"""Background work: startup/shutdown hooks, tasks and loops they start, schedulers and
BackgroundTasks, with whether a distributed lock is taken before the work.

Hooks: `FastAPI(lifespan=fn)`, `@app.on_event("startup"|"shutdown")`,
`app.add_event_handler(...)`, Starlette `on_startup=[...]`, aiogram
`dp.startup.register(fn)` / `@dp.startup()`, python-telegram-bot `post_init=`.
Work started from a hook (directly or through project calls) is per worker: with N
workers it runs N times, unless it takes a lock that other processes also see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.facts import CallFact, ModuleSummary

TASK_STARTERS = {"asyncio.create_task", "asyncio.ensure_future"}
SCHEDULER_CLASSES = re.compile(r"^(apscheduler\.schedulers\.|aiocron|rocketry|arq\.|schedule$|"
                               r"celery\.|dramatiq|taskiq)")
LOCK_CALL = re.compile(r"(\.lock$|acquire_lock|advisory_lock|redlock|leader|single_instance|"
                       r"\.set$.*nx|try_lock)", re.IGNORECASE)
LOCK_SQL = re.compile(r"pg_(try_)?advisory(_xact)?_lock", re.IGNORECASE)


@dataclass(frozen=True)
class Hook:
    function: str  # "module:qualname"
    kind: str  # lifespan, startup, shutdown
    location: Location  # where it is registered
    framework: str


@dataclass(frozen=True)
class BackgroundJob:
    kind: str  # task, loop, scheduler-job, background-task
    started_in: str  # function key that starts it
    target: str  # what runs: function key or call text
    location: Location
    hook: str  # the hook key it is reached from ("" for BackgroundTasks in handlers)
    via: str  # path description hook -> ... -> starter
    loop_location: Location | None  # the `while True` running the work, when found
    lock_evidence: tuple[Location, ...]  # calls that look like a distributed lock
    handle: str = ""  # name the task is stored in, "" when discarded
    # The loop sleeps between rounds (periodic work), as opposed to waiting on a queue.
    periodic: bool = False


@dataclass(frozen=True)
class BackgroundModel:
    hooks: tuple[Hook, ...]
    jobs: tuple[BackgroundJob, ...]

    def shutdown_hooks(self) -> tuple[Hook, ...]:
        return tuple(h for h in self.hooks if h.kind == "shutdown")


def _function_key(project, module: ModuleSummary, value, scope: str = "") -> str | None:
    if value is None or value.kind not in ("name", "attr"):
        return None
    return project.callgraph.resolve_call(module, scope, value.text, value.name)


def find_hooks(project) -> list[Hook]:
    hooks: list[Hook] = []
    for module in project.summaries("source"):
        for fact in module.assignments:
            value = fact.value
            if value is None or value.kind != "call":
                continue
            if value.name in ("fastapi.FastAPI", "starlette.Starlette", "starlette.applications.Starlette"):
                key = _function_key(project, module, value.keyword("lifespan"), fact.scope)
                if key:
                    hooks.append(Hook(key, "lifespan", Location(module.path, fact.line), "asgi"))
                for kind in ("on_startup", "on_shutdown"):
                    handlers = value.keyword(kind)
                    for item in handlers.items if handlers is not None else ():
                        key = _function_key(project, module, item, fact.scope)
                        if key:
                            hooks.append(Hook(key, kind[3:], Location(module.path, fact.line), "asgi"))
        for fn in module.functions:
            for deco in fn.decorators:
                head = deco.text.split("(")[0]
                key = f"{module.module}:{fn.qualname}"
                if head.endswith(".on_event") and deco.items and deco.items[0].const in ("startup", "shutdown"):
                    hooks.append(Hook(key, str(deco.items[0].const), Location(module.path, deco.line), "asgi"))
                elif head.endswith((".startup", ".shutdown")):
                    kind = "startup" if head.endswith(".startup") else "shutdown"
                    hooks.append(Hook(key, kind, Location(module.path, deco.line), "bot"))
        for call in module.calls:
            tail = call.callee.rsplit(".", 1)[-1]
            if tail == "add_event_handler" and len(call.args) >= 2 and call.args[0].const in ("startup", "shutdown"):
                key = _function_key(project, module, call.args[1], call.scope)
                if key:
                    hooks.append(Hook(key, str(call.args[0].const), Location(module.path, call.line), "asgi"))
            elif call.callee.endswith((".startup.register", ".shutdown.register")) and call.args:
                key = _function_key(project, module, call.args[0], call.scope)
                if key:
                    kind = "startup" if ".startup." in call.callee else "shutdown"
                    hooks.append(Hook(key, kind, Location(module.path, call.line), "bot"))
            elif tail in ("post_init", "post_shutdown") and call.args:
                key = _function_key(project, module, call.args[0], call.scope)
                if key:
                    kind = "startup" if tail == "post_init" else "shutdown"
                    hooks.append(Hook(key, kind, Location(module.path, call.line), "bot"))
    unique = {(h.function, h.kind): h for h in hooks}
    return sorted(unique.values(), key=lambda h: (h.location.path, h.location.line, h.function))


def _lock_evidence(project, key: str) -> tuple[Location, ...]:
    """Lock-looking calls in the function or the project functions it calls (3 levels)."""
    graph = project.callgraph
    found: list[Location] = []
    frontier = [key]
    seen = set()
    for _ in range(4):
        next_frontier = []
        for current in frontier:
            if current in seen or current not in graph.nodes:
                continue
            seen.add(current)
            node = graph.nodes[current]
            for call in node.module.calls:
                if call.scope != node.fact.qualname:
                    continue
                text = call.name + " " + " ".join(a.text for a in call.args[:2])
                if LOCK_CALL.search(call.callee) or LOCK_SQL.search(text):
                    found.append(Location(node.module.path, call.line))
            next_frontier.extend(e.callee for e in graph.callees(current))
        frontier = next_frontier
    return tuple(sorted(set(found)))


def _while_true(node) -> Location | None:
    for loop in node.module.loops:
        if loop.target == "<while True>" and loop.scope == node.fact.qualname:
            return Location(node.module.path, loop.line)
    return None


SLEEPS = ("asyncio.sleep", "anyio.sleep", "trio.sleep")


def _sleeps(node) -> bool:
    """Whether the function waits on a timer (periodic) rather than on a queue."""
    return any(call.scope == node.fact.qualname and call.name in SLEEPS for call in node.module.calls)


def _starts(call: CallFact) -> str | None:
    if call.name in TASK_STARTERS or call.callee.endswith((".create_task", ".ensure_future")):
        return "task"
    tail = call.callee.rsplit(".", 1)[-1]
    if tail == "add_job" or tail in ("every", "cron", "crontab"):
        return "scheduler-job"
    return None


def build_background(project) -> BackgroundModel:
    graph = project.callgraph
    hooks = find_hooks(project)
    starting = {h.function: f"{h.kind} hook" for h in hooks if h.kind in ("lifespan", "startup")}
    reach = graph.reachable(starting, kinds=("call", "task"), max_depth=6)
    jobs: list[BackgroundJob] = []
    for key, (label, path) in sorted(reach.items()):
        node = graph.nodes.get(key)
        if node is None:
            continue
        hook = path[0].caller if path else key
        for call in node.module.calls:
            if call.scope != node.fact.qualname:
                continue
            kind = _starts(call)
            if kind is None:
                continue
            target_value = call.args[0] if call.args else None
            target_key = None
            if target_value is not None and target_value.kind == "call":
                written = target_value.text.split("(")[0]
                target_key = graph.resolve_call(node.module, call.scope, written, target_value.name)
            elif target_value is not None:
                target_key = _function_key(project, node.module, target_value, call.scope)
            target_node = graph.nodes.get(target_key) if target_key else None
            loop = _while_true(target_node) if target_node else None
            locks = _lock_evidence(project, target_key) if target_key else ()
            jobs.append(BackgroundJob(
                kind, key, target_key or (target_value.text if target_value else call.callee),
                Location(node.module.path, call.line), hook, graph.describe_path(label, path),
                loop, locks, handle=call.target,
                periodic=kind == "scheduler-job" or bool(target_node and loop and _sleeps(target_node))))
    # BackgroundTasks in request handlers: per request, not per worker, listed for the inventory.
    for module in project.summaries("source"):
        for call in module.calls:
            if call.callee.endswith(".add_task") and call.scope and call.args:
                target = call.args[0]
                jobs.append(BackgroundJob(
                    "background-task", f"{module.module}:{call.scope}",
                    _function_key(project, module, target, call.scope) or target.text,
                    Location(module.path, call.line), "", "", None, ()))
    return BackgroundModel(tuple(hooks), tuple(jobs))
