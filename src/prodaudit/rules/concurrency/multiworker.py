"""What the deployment's worker count means for per-process state; shared by PA101-PA104.

Not a rule: the wording and severity ladder every multi-worker rule uses, so the same
deployment is described the same way in every finding.
"""

from __future__ import annotations

import re

from prodaudit.findings import Evidence, Severity
from prodaudit.model.state import Singleton

# Process-local by nature: each process needs its own clients, pools, locks and health
# flags. State made only of these is not data that diverges between workers.
INFRASTRUCTURE = re.compile(r"(client|connection|conn$|pool|health|last_check|engine|lock|"
                            r"executor|loop|initiali[sz]ed|metric|task)", re.IGNORECASE)
RATE_LIMITER = re.compile(r"(rate_?limit|limiter|throttl|attempt|too_many)", re.IGNORECASE)
LIMIT_ARGUMENT = re.compile(r"(max|limit|attempts|times|calls|requests|rate)", re.IGNORECASE)


def severity_for_workers(workers, several: Severity, unknown: Severity, single: Severity) -> Severity:
    if workers.several:
        return several
    if workers.count is None:
        return unknown
    return single


def workers_phrase(workers) -> str:
    if workers.several:
        return f"{workers.count} worker processes ({workers.location}: {workers.source})"
    if workers.count == 1:
        return f"1 worker today ({workers.location}: {workers.source})"
    return f"an unknown number of workers ({workers.source})"


def workers_evidence(workers) -> list[Evidence]:
    if workers.location is None:
        return []
    return [Evidence(workers.location, f"worker count set here: {workers.source}")]


def singleton_evidence(singleton: Singleton, graph, limit: int = 3) -> list[Evidence]:
    """defined here -> state here -> mutated here -> reached from <entry>."""
    chain = [Evidence(singleton.location, f"module-level `{singleton.name}` defined here")]
    for attribute in singleton.state[:2]:
        if attribute.location != singleton.location:
            chain.append(Evidence(attribute.location, f"in-memory {attribute.kind} `{attribute.name}`"))
    for label, description, mutation in web_reached(singleton)[:limit]:
        chain.append(Evidence(mutation.location, f"mutated here ({mutation.how})"))
        node = graph.nodes.get(mutation.function)
        entry = description
        chain.append(Evidence(node.location if node else mutation.location, f"reached from {entry}"))
    return chain


def web_reached(singleton: Singleton) -> list[tuple[str, str, object]]:
    """Run-time mutations reached from HTTP routes or web background work. A polling bot
    is one process by design, so state only its handlers touch is not per-worker state."""
    return [hit for hit in singleton.reached_from if not hit[0].startswith("bot ")]


def mutated_attributes(singleton: Singleton) -> set[str]:
    """Names of the state changed at run time ("_attempts" for self._attempts[...])."""
    names = set()
    for _, _, mutation in web_reached(singleton):
        target = mutation.target
        for prefix in ("self.", "cls."):
            target = target.removeprefix(prefix)
        names.add(target.split(".")[0])
    return names


def only_infrastructure(singleton: Singleton) -> bool:
    names = mutated_attributes(singleton)
    return bool(names) and all(INFRASTRUCTURE.search(name) for name in names)


def is_queue(singleton: Singleton) -> bool:
    return any(attribute.kind == "queue" for attribute in singleton.state)


def is_rate_limiter(singleton: Singleton) -> bool:
    names = [singleton.name, singleton.class_name, *(a.name for a in singleton.state)]
    return any(RATE_LIMITER.search(name) for name in names if name)


def configured_limit(project, singleton: Singleton) -> int | None:
    """The per-window limit passed to the limiter's constructor, when it is a literal."""
    module = project.modules.get(singleton.path)
    if module is None:
        return None
    fact = project.assignment(module, "", singleton.name)
    value = fact.value if fact else None
    if value is None or value.kind != "call":
        return None
    for key, argument in value.keywords:
        if LIMIT_ARGUMENT.search(key) and "window" not in key and isinstance(argument.const, int):
            return int(argument.const)
    return None
