from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.routes import RATE_LIMIT_NAME
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.security.endpoints import annotation_protection, handler_name, login_like

# Middleware that limits every request (slowapi's SlowAPIMiddleware with default_limits,
# a hand-written RateLimitMiddleware).
LIMITING_MIDDLEWARE = re.compile(r"(rate_?limit|limiter|throttl|slowapi)", re.IGNORECASE)
MAX_DEPTH = 4  # use cases often call the limiter a few layers below the handler

CONSEQUENCE = {
    "login": "passwords can be guessed at full speed (credential stuffing, brute force)",
    "token": "credentials can be guessed at full speed",
    "otp": "one-time codes can be brute-forced",
    "password reset": "reset e-mails and codes can be requested or guessed without limit",
    "register": "accounts can be created in bulk by bots",
}


@register
class AuthEndpointNoRateLimit(ProjectRule):
    """
    ## What it does
    Finds login, token, registration, password-reset and one-time-code endpoints that no
    rate limiter guards: no limiter decorator or dependency, no limiter call in the handler
    or the functions it calls, and no rate-limiting middleware in the app.

    ## Why is this bad?
    These endpoints answer "is this password right?" to anyone. Without a limit, an
    attacker tries leaked password lists (credential stuffing) or every 6-digit code at
    the speed of the server; registration without a limit lets bots create accounts in bulk.

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()


    @app.post("/auth/login")
    async def login(email: str, password: str):
        return {"ok": True}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI, Request
    from slowapi import Limiter
    from slowapi.util import get_remote_address

    app = FastAPI()
    limiter = Limiter(key_func=get_remote_address, storage_uri="redis://redis:6379/0")


    @app.post("/auth/login")
    @limiter.limit("5/minute")
    async def login(request: Request, email: str, password: str):
        return {"ok": True}
    ```

    ## Known limitations
    A limiter is recognised by its name (limiter, rate_limit, throttle) as a decorator,
    dependency, middleware or call up to four calls below the handler. Limits enforced
    outside the code (API gateway, nginx `limit_req`, Cloudflare) are not seen. An
    in-memory limiter counts as a limiter here; PA103 reports it separately.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA403", slug="auth-endpoint-no-rate-limit", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="login/token/registration/password-reset endpoint without rate limiting",
        effort_minutes=45, cwe=(307, 770), owasp=("A07:2021", "API4:2023"), technology=("fastapi",),
        fix="Limit attempts per account and per IP with a shared store (slowapi with Redis "
            "storage, fastapi-limiter, or INCR+EXPIRE in Redis).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        middleware = self.limiting_middleware(project)
        seen: set[tuple[Location, str]] = set()
        for endpoint in project.routes.endpoints:
            if endpoint.method != "POST" or endpoint.auth:
                continue  # an authenticated endpoint is not a credential-guessing surface
            flow = login_like(endpoint.url, handler_name(endpoint))
            if not flow or (endpoint.location, endpoint.method) in seen:
                continue
            node = project.callgraph.nodes.get(endpoint.handler.key) if endpoint.handler else None
            if node is not None and annotation_protection(project, node, unknown_counts=False) is not None:
                continue  # authenticated through an alias (current_user: CurrentUser)
            if middleware is not None or project.rate_limits_of(endpoint) or self.deep_limiter(project, endpoint):
                continue
            seen.add((endpoint.location, endpoint.method))
            evidence = []
            if endpoint.handler is not None:
                evidence.append(Evidence(endpoint.handler.location,
                                         f"handler {handler_name(endpoint)}() and the functions it calls use no limiter"))
            yield self.finding(
                f"{flow.capitalize()} endpoint {endpoint.label} has no rate limit: {CONSEQUENCE[flow]}",
                endpoint.location,
                severity=Severity.MEDIUM if flow == "register" else Severity.HIGH,
                evidence=evidence,
                anchor=f"{endpoint.handler.key if endpoint.handler else endpoint.url}:{endpoint.method}",
                details={"method": endpoint.method, "url": endpoint.url, "flow": flow},
            )

    @staticmethod
    def limiting_middleware(project) -> Location | None:
        for module in project.summaries("source"):
            for call in module.calls:
                if call.callee.rsplit(".", 1)[-1] == "add_middleware" and call.args and \
                        LIMITING_MIDDLEWARE.search(call.args[0].text):
                    return Location(module.path, call.line)
        return None

    @staticmethod
    def deep_limiter(project, endpoint) -> bool:
        if endpoint.handler is None:
            return False
        graph = project.callgraph
        reached = graph.reachable({endpoint.handler.key: endpoint.label}, max_depth=MAX_DEPTH)
        for key in reached:
            for call in project.security.calls_in(key):
                if RATE_LIMIT_NAME.search(call.callee):
                    return True
        return False
