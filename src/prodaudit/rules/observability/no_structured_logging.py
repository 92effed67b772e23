from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.observability.absence import first_import, is_service, searched

STRUCTURED = ("structlog", "pythonjsonlogger", "python_json_logger", "json_log_formatter",
              "ecs_logging", "logfire", "loguru")


@register
class NoStructuredLogging(ProjectRule):
    """
    ## What it does
    Reports a service (an app with routes or bot handlers) that configures no structured
    logging: no import of structlog, python-json-logger, json-log-formatter, ecs-logging,
    logfire or loguru in the source.

    ## Why is this bad?
    Plain text logs cannot be queried by field (user, request id, latency): incidents are
    investigated with grep, and log pipelines cannot alert on them (seed 004 5.2).

    ## Example
    ```python
    import logging

    from fastapi import FastAPI

    app = FastAPI()
    log = logging.getLogger(__name__)


    @app.get("/items")
    async def items():
        log.info("listing items")
        return []
    ```

    ## Use instead
    ```python
    import structlog
    from fastapi import FastAPI

    app = FastAPI()
    log = structlog.get_logger()


    @app.get("/items")
    async def items():
        log.info("items.listed", count=0)
        return []
    ```

    ## Known limitations
    A JSON formatter written by hand for the logging module is not recognised; suppress
    with that reason.
    """

    meta = RuleMeta(
        id="PA802", slug="no-structured-logging", family="observability",
        dimension=Dimension.OBSERVABILITY, severity=Severity.LOW,
        summary="no structured (JSON) logging configured", effort_minutes=120,
        fix="Log JSON with context fields (structlog or python-json-logger) and a request id.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        if not is_service(project) or first_import(project, STRUCTURED):
            return
        yield self.finding("No structured logging: logs are plain text without queryable fields",
                           Location(""), anchor="no-structured-logging", evidence=[searched(STRUCTURED)])
