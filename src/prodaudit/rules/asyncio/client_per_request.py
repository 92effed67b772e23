from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Severity
from prodaudit.model.objects import is_cached_function
from prodaudit.rules.asyncio.clients import creations, kept_for_later, per_request_reach
from prodaudit.rules.base import ProjectRule, RuleMeta, register

CONSEQUENCE = {
    "http-client": "connections are never reused, so every request pays a new TCP and TLS handshake "
                   "to the upstream",
    "llm-client": "connections are never reused, so every request pays a new TCP and TLS handshake "
                  "to the API",
    "redis-client": "a new connection pool per request: a new TCP connection to Redis each time",
    "db-engine": "a new connection pool per request: connections are not shared and pile up until "
                 "the database refuses new ones",
    "db-pool": "a new connection pool per request: connections are not shared and pile up until "
               "the database refuses new ones",
    "docker": "a new Docker API client (and a version round-trip) per request",
    "supabase": "a new client and HTTP connection pool per request",
    "cloud-client": "boto3 builds a client from its service model on every request (tens of ms) and "
                    "reuses no connections",
}


@register
class ClientPerRequest(ProjectRule):
    """
    ## What it does
    Finds clients that pool connections (`httpx.AsyncClient`/`Client`,
    `aiohttp.ClientSession`, `requests.Session`, Redis clients, `create_engine`/
    `create_async_engine`, `asyncpg.create_pool`, `AsyncOpenAI()`-style SDK clients, docker,
    supabase and boto3 clients) constructed in code that runs per request or per message:
    a route, a bot handler, a dependency, or anything they call.

    ## Why is this bad?
    A client is a connection pool. Creating one per request throws the pool away each
    time: a new TCP (and TLS) handshake per call, no keep-alive, sockets in TIME_WAIT piling
    up under load, and rate limits of the upstream hit sooner (seed 004 3.3, seed 001 #6).
    An engine or pool per request is worse: each holds its own database connections.

    ## Example
    ```python
    import httpx
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/rates")
    async def rates():
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get("https://api.example.com/rates")
        return response.json()
    ```

    ## Use instead
    ```python
    from contextlib import asynccontextmanager

    import httpx
    from fastapi import FastAPI, Request


    @asynccontextmanager
    async def lifespan(app):
        app.state.http = httpx.AsyncClient(timeout=5)
        yield
        await app.state.http.aclose()


    app = FastAPI(lifespan=lifespan)


    @app.get("/rates")
    async def rates(request: Request):
        response = await request.app.state.http.get("https://api.example.com/rates")
        return response.json()
    ```

    ## Known limitations
    Reachability follows the project call graph (calls resolved by name, FastAPI
    dependencies); code reached through callbacks or dynamic dispatch is not reported.
    A constructor whose result is kept (a global set once, `self.x` outside `__init__`,
    `app.state`, a dict cache) or made in an `@lru_cache`/`@cache` function counts as
    created once. A client created per background job run is not reported.
    """

    meta = RuleMeta(
        id="PA203", slug="client-per-request", family="asyncio",
        dimension=Dimension.PERFORMANCE, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="HTTP/Redis/DB/SDK client created per request or message: no connection pooling",
        effort_minutes=30, technology=("httpx", "aiohttp", "redis", "sqlalchemy"),
        fix="Create the client once (at module level, in the lifespan, or in an @lru_cache "
            "factory), reuse it, and close it at shutdown.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        reach = per_request_reach(project)
        graph = project.callgraph
        per_function: dict[tuple[str, str], list] = {}
        for creation in creations(project):
            node = graph.nodes[creation.function_key]
            if creation.function_key not in reach or is_cached_function(node.fact):
                continue
            if kept_for_later(project, creation.module, creation.call):
                continue
            per_function.setdefault((creation.obj.name, creation.function_key), []).append(creation)
        functions_per_client: dict[str, int] = {}
        for client, _ in per_function:
            functions_per_client[client] = functions_per_client.get(client, 0) + 1
        for (client, key), found in sorted(per_function.items(), key=lambda i: (i[1][0].module.path, i[1][0].call.line)):
            first = found[0]
            node = graph.nodes[key]
            label, path = reach[key]
            how_reached = graph.describe_path(label, path)
            per = "message" if label.startswith("bot ") else "request"
            count = functions_per_client[client]
            others = f"; {count} functions create a `{client}` per request" if count > 1 else ""
            evidence = [Evidence(c.location, f"`{client}` created here"
                                 + (" (context manager: closed, but never reused)" if c.call.with_item else ""))
                        for c in found[:3]]
            evidence.append(Evidence(node.location, f"runs per {per}: reached from {how_reached}"))
            severity = Severity.HIGH if first.obj.kind in ("db-engine", "db-pool") else Severity.MEDIUM
            consequence = CONSEQUENCE[first.obj.kind].replace("every request", f"every {per}")
            yield self.finding(
                f"`{first.call.callee}(...)` runs on every call of `{node.fact.qualname}` (per {per}: "
                f"{label}): {consequence}{others}",
                first.location, severity=severity, evidence=evidence,
                anchor=f"{key}:{client}",
                details={"client": client, "functions_creating_it": count,
                         "creations_in_function": len(found)},
            )
