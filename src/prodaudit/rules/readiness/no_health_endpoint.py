from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

HEALTH_PATH = re.compile(r"(health|healthz|ready|readiness|live|liveness|ping|status)", re.IGNORECASE)


@register
class NoHealthEndpoint(ProjectRule):
    """
    ## What it does
    Reports a web application (an app with HTTP routes) that has no health, readiness or
    liveness endpoint (no path containing health, healthz, ready, live, ping or status).

    ## Why is this bad?
    Load balancers, Docker and Kubernetes cannot tell a hung or half-started process from
    a working one: traffic keeps going to it, and deploys cannot wait for readiness
    (seed 001 #20).

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/items")
    async def items():
        return []
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/items")
    async def items():
        return []


    @app.get("/health")
    async def health():
        return {"status": "ok"}
    ```

    ## Known limitations
    Health endpoints provided by a mounted sub-application or a library router that
    prodaudit cannot see are missed; suppress with that reason.
    """

    meta = RuleMeta(
        id="PA908", slug="no-health-endpoint", family="readiness", dimension=Dimension.READINESS,
        severity=Severity.MEDIUM, summary="web app with no health/readiness endpoint",
        effort_minutes=30, technology=("fastapi", "starlette"),
        fix="Add /health (liveness) and /ready (probes the database and cache) endpoints.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        mounted = [e for e in project.routes.endpoints if e.app]
        if not mounted:
            return
        if any(HEALTH_PATH.search(e.url) for e in mounted):
            return
        app = project.routes.router(mounted[0].app)
        where = app.location if app else Location("")
        yield self.finding(
            f"No health or readiness endpoint among {len(mounted)} routes", where, anchor="no-health",
            evidence=[Evidence(where, "application defined here"),
                      Evidence(Location(""), "searched route paths for health/healthz/ready/live/ping/status: none")])
