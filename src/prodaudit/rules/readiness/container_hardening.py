from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class ContainerHardening(ProjectRule):
    """
    ## What it does
    Checks each Dockerfile: the final stage runs as root (no `USER`, or `USER root`),
    there is no `HEALTHCHECK` (and the compose service running it declares none), and
    base images without a pinned tag (`latest` or no tag).

    ## Why is this bad?
    A process running as root turns any code-execution bug into root in the container
    (and often a path to the host). Without a health check the orchestrator keeps sending
    traffic to a hung process. An unpinned base image changes under you at the next build.

    ## Example
    ```dockerfile
    FROM python:latest
    COPY . /app
    CMD ["uvicorn", "app.main:app"]
    ```

    ## Use instead
    ```dockerfile
    FROM python:3.12-slim
    RUN useradd --create-home app
    COPY . /app
    USER app
    HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"
    CMD ["uvicorn", "app.main:app"]
    ```

    ## Known limitations
    A user switched in an entrypoint script (`gosu`, `su-exec`) is not seen; health checks
    defined only in Kubernetes probes are not matched to the Dockerfile.
    """

    meta = RuleMeta(
        id="PA907", slug="container-hardening", family="readiness", dimension=Dimension.SECURITY,
        severity=Severity.MEDIUM, summary="Dockerfile running as root, without HEALTHCHECK, or on an unpinned base image",
        effort_minutes=20, cwe=(250,), owasp=("A05:2021",),
        fix="Add a non-root USER, a HEALTHCHECK (or compose healthcheck), and pin the base image tag.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        deployment = project.deployment
        compose_checks = any(s.healthcheck for s in deployment.services if s.build)
        for facts in deployment.dockerfiles:
            where = Location(facts.path, 1)
            if facts.final_user in (None, "root", "0"):
                location = facts.final_user_location or where
                yield self.finding(
                    f"{facts.path}: the container runs as root (no non-root USER in the final stage)",
                    location, anchor=f"{facts.path}:user")
            if not facts.has_healthcheck and not compose_checks:
                yield self.finding(
                    f"{facts.path}: no HEALTHCHECK, and no compose healthcheck for a service built from it",
                    where, severity=Severity.LOW, anchor=f"{facts.path}:healthcheck")
            for image in facts.base_images:
                if image.pinned is False:
                    yield self.finding(
                        f"{facts.path}: base image `{image.image}` is not pinned to a version",
                        image.location, severity=Severity.LOW, anchor=f"{facts.path}:{image.image}",
                        evidence=[Evidence(image.location, "FROM without a version tag or digest")])
