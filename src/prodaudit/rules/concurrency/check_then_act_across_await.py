from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.await_races import CheckThenAct
from prodaudit.model.lifetimes import long_lived_classes
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.concurrency.reach import handler_reach, reached_evidence, who

# A data cache raced this way costs duplicate work; a registry of instances, clients or
# connections ends up with two objects, one of them never closed.
CACHE_NAME = re.compile(r"(cache|memo)", re.IGNORECASE)


@register
class CheckThenActAcrossAwait(ProjectRule):
    """
    ## What it does
    Finds shared state that a coroutine tests, then awaits, then writes as if the test still
    held: `if key not in self._instances: instance = await create(); self._instances[key] =
    instance`, or `if self._client is None: self._client = await connect()`. The state must
    outlive the call (a module-level container, a `global`, or `self` of an instance made
    once and kept, such as a module-level DI container), and the function must be reached
    from a route or bot handler.

    ## Why is this bad?
    An `await` hands control to other coroutines. Two concurrent requests can both pass the
    check before either writes: both run the awaited call, the second write replaces the
    first, and a "singleton" exists twice (the first copy, often a client or connection, is
    never closed). Without an `await` between check and write nothing can interleave, which
    is why the same code without the `await` is not reported (seed 000 section 1).
    Containers named like a cache (`cache`, `memo`) are reported as low: racing them costs
    duplicate work, and the last write wins with equivalent data.

    ## Example
    ```python
    from fastapi import FastAPI


    class Container:
        def __init__(self):
            self._instances = {}

        async def get(self, name: str):
            if name not in self._instances:
                instance = await self._create(name)
                self._instances[name] = instance
            return self._instances[name]

        async def _create(self, name: str):
            return object()


    app = FastAPI()
    container = Container()


    @app.get("/service/{name}")
    async def service(name: str):
        return {"id": id(await container.get(name))}
    ```

    ## Use instead
    ```python
    import asyncio

    from fastapi import FastAPI


    class Container:
        def __init__(self):
            self._instances = {}
            self._lock = asyncio.Lock()

        async def get(self, name: str):
            if name in self._instances:
                return self._instances[name]
            async with self._lock:
                if name not in self._instances:  # re-check: another coroutine may have won
                    self._instances[name] = await self._create(name)
            return self._instances[name]

        async def _create(self, name: str):
            return object()


    app = FastAPI()
    container = Container()


    @app.get("/service/{name}")
    async def service(name: str):
        return {"id": id(await container.get(name))}
    ```

    ## Known limitations
    The key must be written the same way in the check and the write (`d[k]`, `k in d`,
    `d.get(k)`); a check through a local copy (`client = self._client`) is not followed. A
    lock is recognised by its name (`lock`, `semaphore`, `mutex`) or by the asyncio/threading
    lock type assigned to it in the same module. State on `self`
    is only reported when an instance is evidently long-lived (module level, `app.state`,
    an `lru_cache` factory); instances passed around through dependency injection
    frameworks are not followed. Races through Redis or the database (GET then SET) are
    other rules' business.
    """

    needs = ("await_races",)
    meta = RuleMeta(
        id="PA105", slug="check-then-act-across-await", family="concurrency",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="shared state checked, then awaited on, then written: concurrent coroutines both pass the check",
        effort_minutes=30, technology=("asyncio",),
        fix="Take an asyncio.Lock around the check and the write and re-check inside it, or store "
            "an asyncio.Task/Future under the key before the first await so later callers await it.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        reach = handler_reach(project)
        lived = None
        for module in project.summaries("source"):
            for fact in module.facts_of(CheckThenAct):
                if fact.locked:
                    continue
                key = f"{module.module}:{fact.scope}"
                hit = reach.get(key)
                if hit is None:
                    continue
                evidence = [Evidence(Location(module.path, fact.check_line), f"checked here: `{fact.check_text}`"),
                            Evidence(Location(module.path, fact.yield_line),
                                     f"the coroutine yields here: `{fact.yield_text}`"),
                            Evidence(Location(module.path, fact.write_line), f"written here: `{fact.write_text}`")]
                owner = "module state"
                if fact.target.startswith("self."):
                    fn = module.function(fact.scope)
                    lived = long_lived_classes(project) if lived is None else lived
                    instance = lived.get(f"{module.module}:{fn.class_name}") if fn else None
                    if instance is None:
                        continue  # an instance per request is not shared between requests
                    owner = f"one shared {fn.class_name} ({instance.how})"
                    evidence.append(Evidence(instance.location, f"long-lived instance made here: {instance.how}"))
                evidence.append(reached_evidence(project, key, hit))
                severity = None
                if fact.key and CACHE_NAME.search(fact.target.rsplit(".", 1)[-1]):
                    state = f"`{fact.target}[{fact.key}]`"
                    outcome = "both run the awaited call and the last write wins (duplicate work)"
                    severity = Severity.LOW
                elif fact.key:
                    state = f"`{fact.target}[{fact.key}]`"
                    outcome = "both run the awaited call and the second write replaces the first"
                elif fact.sets_flag:
                    state = f"`{fact.target}`"
                    outcome = "and both run the initialisation it guards"
                else:
                    state = f"`{fact.target}`"
                    outcome = "both create it and the first object is overwritten (and never closed)"
                yield self.finding(
                    f"{state} ({owner}) is checked at line {fact.check_line} and written at line "
                    f"{fact.write_line} after `{fact.yield_text[:60]}`: two concurrent {who(hit[0])} "
                    f"can both pass the check, {outcome}",
                    Location(module.path, fact.check_line),
                    severity=severity,
                    evidence=evidence,
                    anchor=f"{key}:{fact.target}",
                    excerpt=fact.check_text,
                )
