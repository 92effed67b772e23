from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.values import Value
from prodaudit.rules.base import ProjectRule, RuleMeta, register

WILDCARD_REGEXES = frozenset({".*", "^.*$", ".+", "^.+$", "(.*)", "https?://.*", "^https?://.*$",
                              "https://.*", "http://.*", "^https://.*$", "*"})
# Signs that the app authenticates with cookies, which credentialed CORS sends along.
COOKIE_CALLS = frozenset({"set_cookie"})
COOKIE_NAMES = ("starlette.middleware.sessions.SessionMiddleware", "fastapi.Cookie",
                "fastapi.security.APIKeyCookie")


@dataclass(frozen=True)
class CorsConfig:
    location: Location  # the add_middleware / Middleware(...) call
    keywords: tuple[tuple[str, Value], ...]
    module: object
    scope: str


@register
class CorsWildcardCredentials(ProjectRule):
    """
    ## What it does
    Finds `CORSMiddleware` configured with any origin (`allow_origins=["*"]` or an
    `allow_origin_regex` like `.*`) together with `allow_credentials=True`, following
    settings constants and defaults to their literal values.

    ## Why is this bad?
    Browsers refuse `*` with credentials, so Starlette answers a credentialed request by
    echoing the caller's `Origin` back and allowing credentials. Any website a signed-in
    user visits can then call the API with the user's cookies and read the answers.

    ## Example
    ```python
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware

    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["https://shop.example.com"],
        allow_credentials=True,
    )
    ```

    ## Known limitations
    Origins computed at run time (split from an environment variable without a default,
    read from a database) are unknown and not reported. The default of a setting is what
    is judged; the deployed environment may override it, which the finding says.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA406", slug="cors-wildcard-credentials", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="CORS allows any origin together with credentials",
        effort_minutes=10, cwe=(942, 346), owasp=("A05:2021", "API8:2023"), technology=("fastapi", "starlette"),
        fix="List the exact front-end origins (from settings) in allow_origins; keep '*' only "
            "for public APIs without credentials.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        security = project.security
        cookies = self.cookie_auth(project)
        for config in self.configs(project):
            keywords = dict(config.keywords)
            credentials = keywords.get("allow_credentials")
            if credentials is None or security.setting_literal(credentials, config.module, config.scope) is not True:
                continue
            origins = keywords.get("allow_origins")
            regex = keywords.get("allow_origin_regex")
            wildcard = None
            if origins is not None:
                value = security.setting_literal(origins, config.module, config.scope)
                if value == "*" or (isinstance(value, list) and "*" in value):
                    wildcard = (origins, f"allow_origins={origins.text}"
                                + ("" if origins.kind == "list" else f" (resolves to {value!r})"))
            if wildcard is None and regex is not None:
                value = security.setting_literal(regex, config.module, config.scope)
                if isinstance(value, str) and value.strip() in WILDCARD_REGEXES:
                    wildcard = (regex, f"allow_origin_regex={value!r}")
            if wildcard is None:
                continue
            value, shown = wildcard
            where = Location(config.location.path, value.line or config.location.line)
            evidence = [Evidence(config.location, "CORSMiddleware configured here"),
                        Evidence(Location(config.location.path, credentials.line or config.location.line),
                                 "allow_credentials=True")]
            if value.kind != "list":
                evidence.append(Evidence(where, f"origins from {value.text}: a default the environment may override"))
            if cookies is not None:
                evidence.append(Evidence(cookies[0], f"the app uses cookies: {cookies[1]}"))
                consequence = "any website can call the API with a signed-in user's cookies and read the responses"
                severity = Severity.HIGH
            else:
                consequence = ("any website may send credentialed requests (no cookie auth found today, "
                               "so the impact is limited)")
                severity = Severity.MEDIUM
            yield self.finding(
                f"CORS allows every origin ({shown}) with allow_credentials=True: {consequence}",
                where, severity=severity, evidence=evidence,
                anchor=f"{config.module.module}:CORSMiddleware",
            )

    @staticmethod
    def configs(project) -> Iterator[CorsConfig]:
        for module in project.summaries("source"):
            for call in module.calls:
                if call.has_star_args:
                    continue
                tail = call.callee.rsplit(".", 1)[-1]
                if tail == "add_middleware" and call.args and call.args[0].text.rsplit(".", 1)[-1] == "CORSMiddleware" or tail == "Middleware" and call.args and call.args[0].text.rsplit(".", 1)[-1] == "CORSMiddleware":
                    yield CorsConfig(Location(module.path, call.line), call.keywords, module, call.scope)

    @staticmethod
    def cookie_auth(project) -> tuple[Location, str] | None:
        for module in project.summaries("source"):
            for call in module.calls:
                if call.callee.rsplit(".", 1)[-1] in COOKIE_CALLS or call.name in COOKIE_NAMES or (
                        call.args and call.args[0].name in COOKIE_NAMES):
                    return Location(module.path, call.line), f"{call.callee}()"
            for fn in module.functions:
                for param in fn.params:
                    if param.default is not None and param.default.kind == "call" and param.default.name in COOKIE_NAMES:
                        return Location(module.path, fn.def_line or fn.line), f"{fn.name}() reads a cookie"
        return None
