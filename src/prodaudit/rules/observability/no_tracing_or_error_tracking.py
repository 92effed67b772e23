from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.observability.absence import first_import, is_service, searched

TRACKING = ("sentry_sdk", "opentelemetry", "ddtrace", "elasticapm", "newrelic", "rollbar",
            "bugsnag", "honeybadger", "logfire")


@register
class NoTracingOrErrorTracking(ProjectRule):
    """
    ## What it does
    Reports a service (an app with routes or bot handlers) with no error tracking or
    tracing: no import of sentry_sdk, OpenTelemetry, ddtrace, elasticapm, newrelic,
    rollbar, bugsnag, honeybadger or logfire.

    ## Why is this bad?
    Exceptions in production are only in logs nobody reads; there is no grouping, no alert,
    no trace of which upstream call made a request slow (seed 001 #28).

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
    import sentry_sdk
    from fastapi import FastAPI

    sentry_sdk.init(traces_sample_rate=0.1)
    app = FastAPI()


    @app.get("/items")
    async def items():
        return []
    ```

    ## Known limitations
    Agents attached outside the code (auto-instrumentation at the container level) are
    not seen.
    """

    meta = RuleMeta(
        id="PA804", slug="no-tracing-or-error-tracking", family="observability",
        dimension=Dimension.OBSERVABILITY, severity=Severity.LOW,
        summary="no tracing or error tracking (OpenTelemetry, Sentry)", effort_minutes=90,
        fix="Add error tracking (Sentry) and traces (OpenTelemetry) for requests and outbound calls.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        if not is_service(project) or first_import(project, TRACKING):
            return
        yield self.finding("No error tracking or tracing: production exceptions are not grouped or alerted on",
                           Location(""), anchor="no-tracking", evidence=[searched(TRACKING)])
