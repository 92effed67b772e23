"""What the application needs at startup, and whether the deployment provides it.

A service is *required at startup* when a startup/lifespan hook, or a project function it
calls (up to four calls deep), connects to it: Redis clients and pings, database engines
and connections, message brokers. The deployment provides it when docker-compose (or k8s)
declares a service of that kind. Without any compose/k8s services the answer is unknown,
never "missing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodaudit.findings import Location

SERVICE_CALLS = (
    ("redis", re.compile(r"^(redis\.|aioredis\.|coredis\.)|(\.|^)(ping)$")),
    ("postgres", re.compile(r"^(asyncpg\.(connect|create_pool)|psycopg2?\.connect|psycopg\.AsyncConnection)")),
    ("rabbitmq", re.compile(r"^(aio_pika\.connect|pika\.BlockingConnection|aiormq\.connect)")),
)
DB_ENGINE = re.compile(r"(\.begin$|\.connect$|run_sync$|create_all$|check_database_connection)")


@dataclass(frozen=True)
class StartupRequirement:
    kind: str  # redis, postgres, rabbitmq, database
    location: Location  # the call that needs it
    via: str  # "lifespan hook via lifespan -> init_redis"
    # None: the deployment declares no services, so unknown. False means the repository's
    # compose/k8s files declare no such service; it may still come from outside (a managed
    # Redis given by URL), which the report states next to it.
    provided: bool | None


def _kind_of(call) -> str | None:
    name = call.name
    for kind, pattern in SERVICE_CALLS:
        if kind == "redis" and name.endswith(".ping"):
            # .ping() on a client: only when the receiver looks like redis
            if "redis" in call.callee.lower():
                return "redis"
            continue
        if pattern.search(name):
            return kind
    if DB_ENGINE.search(call.callee) and ("engine" in call.callee.lower() or "db" in call.callee.lower()):
        return "database"
    return None


def startup_requirements(project) -> tuple[StartupRequirement, ...]:
    graph = project.callgraph
    hooks = {h.function: f"{h.kind} hook" for h in project.background.hooks
             if h.kind in ("lifespan", "startup")}
    reach = graph.reachable(hooks, kinds=("call",), max_depth=4)
    deployment = project.deployment
    has_services = bool(deployment.services) or bool(deployment.k8s)
    found: dict[tuple[str, str], StartupRequirement] = {}
    for key, (label, path) in sorted(reach.items()):
        node = graph.nodes.get(key)
        if node is None:
            continue
        for call in node.module.calls:
            if call.scope != node.fact.qualname:
                continue
            kind = _kind_of(call)
            if kind is None:
                continue
            if kind == "database":
                provided = deployment.database_service() is not None if has_services else None
            else:
                provided = deployment.has_service(kind) if has_services else None
            requirement = StartupRequirement(kind, Location(node.module.path, call.line),
                                             graph.describe_path(label, path), provided)
            found.setdefault((kind, node.module.path), requirement)
    return tuple(sorted(found.values(), key=lambda r: (r.kind, r.location.path, r.location.line)))
