from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.health import HealthShape, ShapeReader, concept
from prodaudit.rules.base import ProjectRule, RuleMeta, register


def differences(a: HealthShape, b: HealthShape) -> list[str]:
    found = []
    if a.keys is not None and b.keys is not None and a.keys != b.keys:
        found.append("different JSON keys")
    if a.model and b.model and a.model != b.model:
        found.append(f"different response models ({a.model} vs {b.model})")
    if a.probes != b.probes and (a.constant or b.constant):
        found.append("one checks its dependencies, the other always answers OK")
    if a.keys is not None and b.keys is not None:
        for key in sorted(a.keys & b.keys):
            left, right = a.value_of(key), b.value_of(key)
            if left and right and not (left & right):
                found.append(f'"{key}" is {"/".join(sorted(left))} vs {"/".join(sorted(right))}')
    return found


def probed_by(project, url: str) -> list[Evidence]:
    """Deployment files (compose, Dockerfile, k8s) whose health checks call this URL."""
    pattern = re.compile(r"(?:https?://[^/\s\"']+|[\s\"'=])" + re.escape(url.rstrip("/")) + r"/?(?=[\s\"'\]]|$)")
    found = []
    for source in project.files_of_kind("deploy"):
        text = project.read_text(source.path) or ""
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                found.append(Evidence(Location(source.path, number), f"{url} is the one probed here",
                                      line.strip()[:160]))
    return found[:3]


@register
class InconsistentHealth(ProjectRule):
    """
    ## What it does
    Finds health endpoints of one app (`/health`, `/api/health`, `/healthz`, `/ready`,
    `/live`, `/status`, with optional `/api` and version prefixes) that answer the same
    question differently: different JSON keys or response models, different values for
    the same key (`"ok"` against `"up and running"`), or one that checks the database
    while the other always answers OK. Endpoints for different questions (`/health/live`
    against `/health/ready`) are not compared.

    ## Why is this bad?
    Load balancers, uptime monitors, Kubernetes probes and dashboards each get pointed at
    one of them, and they disagree: a constant endpoint keeps reporting healthy while
    the database is down, so traffic is still routed to a broken instance, and a monitor
    parsing `status == "ok"` breaks on the other format.

    ## Example
    ```python
    from fastapi import APIRouter, FastAPI

    app = FastAPI()
    api = APIRouter(prefix="/api")


    async def ping_database():
        return True


    @app.get("/health")
    async def health():
        await ping_database()
        return {"status": "ok"}


    @api.get("/health")
    async def api_health():
        return {"healthy": True}


    app.include_router(api)
    ```

    ## Use instead
    ```python
    from fastapi import APIRouter, FastAPI

    app = FastAPI()
    api = APIRouter(prefix="/api")


    async def ping_database():
        return True


    @app.get("/health")
    async def health():
        await ping_database()
        return {"status": "ok"}


    app.include_router(api)
    ```

    ## Known limitations
    Shapes are read from literal return values, response classes with literal content,
    response models and one level of helper functions; a body built in a variable is
    unknown and only the checks-versus-constant difference is reported then. Health
    endpoints of different apps are not compared.
    """

    meta = RuleMeta(
        id="PA602", slug="inconsistent-health", family="architecture",
        dimension=Dimension.ARCHITECTURE, severity=Severity.LOW, confidence=Confidence.MEDIUM,
        summary="several health endpoints of one app answer with different response shapes",
        effort_minutes=30, technology=("fastapi",),
        fix="Keep one health endpoint per question (liveness, readiness), with one response "
            "format; point every probe at it and delete or redirect the others.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        groups: dict[tuple[str, str], dict[str, object]] = {}
        for endpoint in project.routes.endpoints:
            if not endpoint.app or endpoint.method != "GET" or endpoint.handler is None:
                continue
            key = concept(endpoint.url) if endpoint.url_known else None
            if key is None:
                continue
            groups.setdefault((endpoint.app, key), {}).setdefault(endpoint.url, endpoint)
        reader = ShapeReader(project)
        for (app, key), by_url in sorted(groups.items()):
            endpoints = sorted(by_url.values(), key=lambda e: (len(e.url), e.url))
            if len({e.handler.key for e in endpoints}) < 2:
                continue
            shapes = {e.url: reader.shape(e) for e in endpoints}
            base = endpoints[0]
            for other in endpoints[1:]:
                a, b = shapes[base.url], shapes[other.url]
                if a is None or b is None or other.handler.key == base.handler.key:
                    continue
                found = differences(a, b)
                if not found:
                    continue
                # The line to fix: the constant one when only one checks anything,
                # otherwise the longer (less canonical) URL.
                target, kept = (base, other) if a.constant and not b.constant else (other, base)
                shape_of = {base.url: a, other.url: b}
                evidence = [Evidence(e.location, f"GET {e.url} `{e.handler.qualname}` "
                                                 f"{shape_of[e.url].describe()}")
                            for e in (kept, target)]
                evidence += probed_by(project, kept.url) + probed_by(project, target.url)
                yield self.finding(
                    f"Health endpoints GET {kept.url} and GET {target.url} answer differently "
                    f"({'; '.join(found)}): monitors and probes pointed at one or the other disagree",
                    target.location,
                    evidence=evidence,
                    anchor=f"health:{target.url}@{app}",
                    details={"endpoints": len(endpoints)},
                )
