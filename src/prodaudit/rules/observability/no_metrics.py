from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.observability.absence import first_import, is_service, searched

METRICS = ("prometheus_client", "prometheus_fastapi_instrumentator", "starlette_prometheus",
           "starlette_exporter", "aioprometheus", "opentelemetry", "statsd", "datadog", "logfire")


@register
class NoMetrics(ProjectRule):
    """
    ## What it does
    Reports a service (an app with routes or bot handlers) that exports no metrics: no
    import of prometheus_client, prometheus-fastapi-instrumentator, starlette-prometheus,
    starlette-exporter, aioprometheus, OpenTelemetry, statsd, datadog or logfire.

    ## Why is this bad?
    Without request rates, latencies, error rates and pool usage you learn about
    degradation from users, and capacity planning is guesswork (seed 004 5.1, seed 001 #24).

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
    from prometheus_fastapi_instrumentator import Instrumentator

    app = FastAPI()
    Instrumentator().instrument(app).expose(app)


    @app.get("/items")
    async def items():
        return []
    ```

    ## Known limitations
    Metrics collected outside the code (a sidecar, the platform's load balancer) are not
    seen.
    """

    meta = RuleMeta(
        id="PA803", slug="no-metrics", family="observability", dimension=Dimension.OBSERVABILITY,
        severity=Severity.LOW, summary="no metrics (Prometheus, OpenTelemetry)", effort_minutes=120,
        fix="Expose request and dependency metrics (prometheus-fastapi-instrumentator or OpenTelemetry).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        if not is_service(project) or first_import(project, METRICS):
            return
        yield self.finding("No metrics: request rates, latencies and errors are not exported",
                           Location(""), anchor="no-metrics", evidence=[searched(METRICS)])
