from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.backing import backing_services
from prodaudit.model.health import concept
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# Liveness answers "is the process up?": a constant is the right answer there.
LIVENESS = frozenset({"live", "livez", "liveness", "alive", "ping"})
# A probe mounted under a utility router (`/api/v1/utils/health-check/`): the model's
# health URLs (model/health.py) stop at API and version prefixes.
LAST_SEGMENT = re.compile(r"^(health|healthz|healthcheck|health[-_]check|ready|readyz|readiness)$")
UNRESOLVED = re.compile(r"^\{.*[.(].*\}$")
HARMLESS_PREFIXES = ("datetime.", "time.", "logging.", "platform.", "uuid.", "fastapi.responses.",
                     "starlette.responses.", "fastapi.Response", "fastapi.status", "starlette.status")
HARMLESS_NAMES = frozenset({"os.getenv", "os.environ.get", "socket.gethostname", "dict", "str", "int",
                            "float", "bool", "len", "round", "list", "tuple", "sorted"})
HARMLESS_METHODS = frozenset({"isoformat", "strftime", "timestamp", "debug", "info", "warning",
                              "log"})
CONSTANT_ROOTS = ("settings", "config", "app.version", "app.title")


@register
class ShallowHealthCheck(ProjectRule):
    """
    ## What it does
    Finds health and readiness endpoints (`/health`, `/healthz`, `/ready`, `/readiness`,
    a top-level `/status`, as the model's health URLs define them, plus a health word as
    the last segment under any router, like `/api/v1/utils/health-check/`) whose handler
    returns a constant (`{"status": "ok"}`, `True`)
    without awaiting anything, without dependencies, and without calling anything that
    could probe a service, in a project that creates a database engine or Redis client.
    Liveness endpoints (`/live`, `/livez`, `/ping`) are left alone: a constant is their
    right answer. When the project has another health endpoint that does probe its
    dependencies, the constant one is treated as liveness and not reported.

    ## Why is this bad?
    Load balancers, Docker and Kubernetes use this endpoint to decide whether the
    instance may receive traffic. A constant answer says "healthy" while the database is
    unreachable or Redis is down: traffic keeps flowing to an instance that can only
    return 500s, and nothing restarts or drains it (seed 003 3.3, seed 001 #20).

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/app")
    app = FastAPI()

    @app.get("/health")
    async def health():
        return {"status": "ok"}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://app@db/app")
    app = FastAPI()

    @app.get("/health")
    async def health():
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return {"status": "ok"}
    ```

    ## Known limitations
    The endpoint is recognised by its URL. A handler that calls anything not known to be
    harmless (logging, time, response classes, settings) is assumed to probe something.
    Which endpoint the deployment's healthcheck actually calls is not checked yet.
    """

    meta = RuleMeta(
        id="PA508", slug="shallow-health-check", family="reliability",
        dimension=Dimension.READINESS, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="health/readiness endpoint returns a constant without probing the DB or cache",
        effort_minutes=30, technology=("fastapi",),
        fix="Probe what the app needs (SELECT 1 on the engine, Redis PING) with a short "
            "timeout and return 503 when one fails; keep a separate constant /live for liveness.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        services = backing_services(project)
        if not services:
            return
        graph = project.callgraph
        candidates = []
        deep_exists = False
        for endpoint in project.routes.endpoints:
            if endpoint.handler is None or not self._is_health_url(endpoint.url):
                continue
            node = graph.nodes.get(endpoint.handler.key)
            if node is None:
                continue
            if self._probes(project, graph, node, endpoint):
                deep_exists = True
            elif node.fact.return_values and all(self._constant(project, node.module, v)
                                                 for v in node.fact.return_values):
                candidates.append((endpoint, node))
        if deep_exists:
            return  # a real probe exists: constant ones are liveness or duplicates (PA602)
        reported = set()
        for endpoint, node in candidates:
            if node.key in reported:
                continue
            reported.add(node.key)
            first = next((v for v in node.fact.return_values if v is not None and v.line), None)
            location = Location(node.module.path, first.line) if first else node.location
            answer = first.text if first is not None else "None"
            names = sorted({"the database" if s.kind == "database" else "Redis" for s in services})
            kinds = " and ".join(names)
            verb = "are" if len(names) > 1 else "is"
            evidence = [Evidence(endpoint.location, f"route {endpoint.label} declared here")]
            evidence += [Evidence(s.location, f"{s.kind} client created here ({s.constructor})")
                         for s in services[:4]]
            yield self.finding(
                f"Health endpoint {endpoint.label} returns a constant ({answer[:60]}) without "
                f"checking {kinds}: it reports healthy even when {kinds} {verb} down",
                location, evidence=evidence, anchor=node.key,
            )

    @staticmethod
    def _is_health_url(url: str) -> bool:
        """A health or readiness probe URL (never a liveness one)."""
        found = concept(url)
        if found is not None:
            return not any(part in LIVENESS for part in found.split("/"))
        # `{settings.API_V1_STR}` is a prefix the model could not resolve; `{order_id}` a
        # path parameter (a per-resource status, not a probe).
        segments = [s.lower() for s in url.split("/") if s and not UNRESOLVED.match(s)]
        if not segments or any("{" in s for s in segments) or any(s in LIVENESS for s in segments):
            return False
        return bool(LAST_SEGMENT.match(segments[-1]))

    def _probes(self, project, graph, node, endpoint) -> bool:
        """It may check a dependency: a route dependency, an await, or a call to anything
        not known to be harmless."""
        if any(d.level in ("route", "param", "nested") for d in endpoint.dependencies):
            return True  # Depends(get_db), Depends(check_redis)
        return not self._shallow(project, graph, node, depth=0)

    def _shallow(self, project, graph, node, depth: int) -> bool:
        """No await, and only harmless calls (or project functions that are shallow too)."""
        if node.fact.await_count or node.fact.has_yield:
            return False
        callees = {edge.line: edge.callee for edge in graph.callees(node.key) if edge.kind == "call"}
        for call in node.module.calls:
            if call.scope != node.fact.qualname or self._harmless(call.name, call.callee):
                continue
            callee = callees.get(call.line)
            if callee is None or depth >= 2 or callee not in graph.nodes:
                return False
            if not self._shallow(project, graph, graph.nodes[callee], depth + 1):
                return False
        return True

    @staticmethod
    def _harmless(name: str, callee: str) -> bool:
        if name in HARMLESS_NAMES or name.startswith(HARMLESS_PREFIXES):
            return True
        receiver, _, method = callee.rpartition(".")
        if method in ("isoformat", "strftime", "timestamp"):
            return True
        return method in HARMLESS_METHODS and bool(re.search(r"(^|\.)_?log(ger)?$", receiver))

    def _constant(self, project, module, value, depth: int = 0) -> bool:
        if value is None or value.kind == "const":
            return True
        if depth > 4:
            return False
        if value.kind in ("name", "attr"):
            if value.text.startswith(CONSTANT_ROOTS) or value.name.startswith(HARMLESS_PREFIXES):
                return True
            return project.constant(value, module) is not None
        if value.kind in ("list", "tuple", "set", "fstring"):
            return all(self._constant(project, module, v, depth + 1) for v in value.items)
        if value.kind == "dict":
            return all(key != "**" and self._constant(project, module, v, depth + 1)
                       for key, v in value.keywords)
        if value.kind == "call":
            return self._harmless(value.name, value.name) and all(
                self._constant(project, module, v, depth + 1)
                for v in (*value.items, *(v for _, v in value.keywords)))
        return False
