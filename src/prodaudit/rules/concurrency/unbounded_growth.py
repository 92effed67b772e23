from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.container_growth import KeyedWrite, SizeCheck
from prodaudit.model.state import Mutation, Singleton, StateAttribute
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.multiworker import INFRASTRUCTURE

EVICTIONS = {"delitem", "rebind", "call:pop", "call:popitem", "call:popleft", "call:clear",
             "call:remove", "call:discard"}
APPENDS = {"call:append", "call:appendleft", "call:extend", "call:insert"}
# How fast each kind of growth is; the first three add memory on every call.
EVERY_CALL, FRESH_KEY, NESTED, PER_KEY, PER_VALUE = "every", "fresh", "nested", "key", "value"
FAST = {EVERY_CALL, FRESH_KEY, NESTED}


@dataclass(frozen=True)
class Growth:
    mutation: Mutation
    label: str  # the entry point: "POST /chat"
    path: str  # "POST /chat via chat -> track"
    pace: str
    key: str


class Liveness:
    """Does a function ever run? Reached from an entry point, or its name used anywhere
    (called through something the call graph does not resolve, or passed as a callback).
    Dunder methods run by the language itself."""

    def __init__(self, project):
        self.reach = project.callgraph.reachable(project.entry_points,
                                                 kinds=("call", "depends", "task", "thread"))
        self.referenced: set[str] = set()
        for module in project.summaries("source"):
            for call in module.calls:
                self.referenced.add(call.callee.rsplit(".", 1)[-1])
                for value in (*call.args, *(v for _, v in call.keywords)):
                    for part in value.walk():
                        if part.kind in ("name", "attr"):
                            self.referenced.add(part.text.rsplit(".", 1)[-1])

    def __call__(self, function_key: str) -> bool:
        name = function_key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
        if name.startswith("__") or function_key in self.reach:
            return True
        return name in self.referenced


@register
class UnboundedGrowth(ProjectRule):
    """
    ## What it does
    Finds long-lived containers (module-level, or the state of a module-level object) that
    code reached from routes, bot handlers or background jobs grows (`append`, `add`,
    `d[user_id] = ...`, `d[key].append(...)`) while nothing anywhere removes entries: no
    `pop`/`del`/`clear`/`discard`, no reassignment or slicing, no `len(...)` size check,
    no `deque(maxlen=...)`, no TTL/LRU cache. Writes under a constant key do not grow.

    ## Why is this bad?
    The process keeps every entry until it restarts. A history list appended per message, a
    dict of job results keyed by a fresh id, or per-user state kept forever grow the worker's
    memory for as long as it runs; under real traffic that ends in swapping or an OOM kill
    days after a deploy, where it is hard to connect to its cause (seed 004 section 1.3,
    seed 001 memory leak). High when every call adds an entry (appends, fresh uuid/time
    keys, lists per key); medium when entries are per distinct user or key.

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()
    chat_history = {}


    @app.post("/chat/{user_id}")
    async def chat(user_id: int, text: str):
        chat_history.setdefault(user_id, []).append(text)
        return {"messages": len(chat_history[user_id])}
    ```

    ## Use instead
    ```python
    from collections import deque

    from fastapi import FastAPI

    app = FastAPI()
    chat_history = {}


    @app.post("/chat/{user_id}")
    async def chat(user_id: int, text: str):
        history = chat_history.setdefault(user_id, deque(maxlen=50))
        history.append(text)
        if len(chat_history) > 10_000:
            chat_history.pop(next(iter(chat_history)))
        return {"messages": len(history)}
    ```

    ## Known limitations
    Growth through an object taken out of the container (`state = users[uid];
    state.history.append(m)`) is not followed, and any removal anywhere counts as eviction,
    whether or not it runs. Containers of per-process infrastructure (clients, pools,
    locks, tasks) are left out. Keeping the state in memory at all is PA101's subject.
    """

    needs = ("container_growth",)
    meta = RuleMeta(
        id="PA109", slug="unbounded-growth", family="concurrency", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="long-lived container grown per request or user with no eviction: memory grows until restart",
        effort_minutes=45, technology=("fastapi", "aiogram"),
        fix="Bound it: deque(maxlen=...), cachetools.TTLCache/LRUCache, a size check that evicts, "
            "or keep the data in Redis/the database with a TTL.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        keyed = self._keyed_writes(project)
        sized = {(m.path, f.root) for m in project.summaries("source") for f in m.facts_of(SizeCheck)}
        live = Liveness(project)
        for singleton in project.singletons:
            if not singleton.reached_from:
                continue
            for attribute in singleton.state:
                if attribute.kind in ("cache", "queue") or self._bounded_by_definition(project, attribute):
                    continue
                if INFRASTRUCTURE.search(attribute.name):
                    continue
                growth = self._growth(singleton, attribute, keyed)
                if not growth:
                    continue
                bounded, dead = self._evicted(project, singleton, attribute, sized, live)
                if not bounded:
                    yield self._finding(project, singleton, attribute, growth, dead)

    @staticmethod
    def _keyed_writes(project) -> dict[tuple[str, int, str], list[KeyedWrite]]:
        found: dict[tuple[str, int, str], list[KeyedWrite]] = {}
        for module in project.summaries("source"):
            for fact in module.facts_of(KeyedWrite):
                found.setdefault((module.path, fact.line, fact.root), []).append(fact)
        return found

    @staticmethod
    def _matches(singleton: Singleton, attribute: StateAttribute, target: str) -> bool:
        if not singleton.class_name:
            return True  # a module-level container: every mutation is of it
        for prefix in ("self.", "cls."):
            if target.startswith(prefix):
                return target[len(prefix):].split(".")[0] == attribute.name
        return False

    def _growth(self, singleton: Singleton, attribute: StateAttribute, keyed) -> list[Growth]:
        found = []
        for label, path, mutation in singleton.reached_from:
            if not self._matches(singleton, attribute, mutation.target):
                continue
            writes = keyed.get((mutation.location.path, mutation.location.line, mutation.target), [])
            hows = {mutation.how} | {w.how for w in writes}
            pace = None
            if hows & APPENDS:
                pace = NESTED if writes else EVERY_CALL
            elif "call:add" in hows:
                pace = NESTED if writes else PER_VALUE
            elif mutation.how in ("setitem", "augassign", "call:setdefault") and writes:
                if any(w.key is None or w.key.is_const for w in writes):
                    continue  # a fixed set of keys does not grow
                pace = FRESH_KEY if any(w.key_fresh for w in writes) else PER_KEY
            if pace is not None:
                key = next((w.key.text for w in writes if w.key is not None), "")
                found.append(Growth(mutation, label, path, pace, key))
        trimmed = {w.root for writes in keyed.values() for w in writes if w.trims}
        if any(g.pace == NESTED and g.mutation.target in trimmed for g in found):
            # Each key's list is trimmed; the keys themselves still accumulate.
            found = [Growth(g.mutation, g.label, g.path, PER_KEY if g.pace == NESTED else g.pace, g.key)
                     for g in found]
        return found

    def _evicted(self, project, singleton: Singleton, attribute: StateAttribute, sized, live: Liveness):
        """(bounded?, evictions that never run): removals in functions nothing calls do not count."""
        dead: list[Location] = []
        for mutation in singleton.mutations:
            if self._matches(singleton, attribute, mutation.target) and mutation.how in EVICTIONS:
                if live(mutation.function):
                    return True, []
                dead.append(mutation.location)
        roots = {m.target for m in singleton.mutations if self._matches(singleton, attribute, m.target)}
        roots.add(f"self.{attribute.name}" if singleton.class_name else attribute.name)
        paths = {m.location.path for m in singleton.mutations} | {attribute.location.path}
        if any((path, root) in sized for path in paths for root in roots):
            return True, []
        if singleton.class_name:
            # Reassigned outside __init__: reset, sliced or rebuilt without old entries.
            module = project.modules.get(attribute.location.path)
            for fact in module.assignments if module else ():
                if fact.target == f"self.{attribute.name}" and fact.scope.startswith(singleton.class_name + ".") \
                        and not fact.scope.endswith(".__init__"):
                    if live(f"{module.module}:{fact.scope}"):
                        return True, []
                    dead.append(Location(module.path, fact.line))
        return False, dead

    @staticmethod
    def _bounded_by_definition(project, attribute: StateAttribute) -> bool:
        module = project.modules.get(attribute.location.path)
        if module is None:
            return False
        for fact in module.assignments:
            if fact.line != attribute.location.line or fact.value is None or fact.value.kind != "call":
                continue
            if fact.value.name.startswith("weakref."):
                return True
            if fact.value.name == "collections.deque":
                maxlen = fact.value.keyword("maxlen") or fact.value.arg(1)
                if maxlen is not None and not (maxlen.is_const and maxlen.const is None):
                    return True
        return False

    def _finding(self, project, singleton: Singleton, attribute: StateAttribute, growth: list[Growth],
                 dead: list[Location]) -> Finding:
        fast = [g for g in growth if g.pace in FAST]
        first = (fast or growth)[0]
        owner = (f"`{singleton.name}.{attribute.name}` ({attribute.kind} on module-level {singleton.class_name})"
                 if singleton.class_name else f"module-level `{singleton.name}` ({attribute.kind})")
        pace = {
            EVERY_CALL: "gains an entry on every call",
            FRESH_KEY: f"gets a new key on every call (`{first.key}`)",
            NESTED: f"appends to the list under `{first.key}` on every call" if first.key else "grows on every call",
            PER_KEY: f"keeps one entry per distinct `{first.key}`",
            PER_VALUE: "keeps every distinct value added",
        }[first.pace]
        evidence = [Evidence(attribute.location, f"{attribute.kind} `{attribute.name}` created here, unbounded")]
        evidence += [Evidence(where, "removes entries, but nothing calls this code") for where in dead[:2]]
        graph = project.callgraph
        for item in (fast or growth)[:3]:
            evidence.append(Evidence(item.mutation.location, f"grows here ({item.mutation.how})"))
            node = graph.nodes.get(item.mutation.function)
            if node is not None:
                evidence.append(Evidence(node.location, f"reached from {item.path}"))
        return self.finding(
            f"{owner} {pace} ({first.label}) and nothing {'that runs ' if dead else ''}ever removes "
            f"entries: memory grows until the process restarts",
            attribute.location,
            severity=Severity.HIGH if fast else Severity.MEDIUM,
            evidence=evidence,
            anchor=f"{singleton.key}.{attribute.name}" if singleton.class_name else singleton.key,
            details={"pace": first.pace},
        )
