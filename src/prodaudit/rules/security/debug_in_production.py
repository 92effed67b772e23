from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

APP_CLASSES = frozenset({"fastapi.FastAPI", "starlette.Starlette", "starlette.applications.Starlette"})
# Deployment files that only developers run.
DEV_FILE = re.compile(r"(^|[./_-])(dev|develop|development|local|test|tests|ci|override|example|debug)([./_-]|$)",
                      re.IGNORECASE)


@register
class DebugInProduction(ProjectRule):
    """
    ## What it does
    Finds debug switches that reach production: `FastAPI(debug=True)` /
    `Starlette(debug=True)` (a literal, a constant or a settings default), and web servers
    started with auto-reload (`--reload`, `fastapi dev`, `uvicorn.run(reload=True)`) by
    the Dockerfile, compose file, Procfile or script that deploys the app. Files whose
    name says dev, local, test, CI or override are not production.

    ## Why is this bad?
    With `debug=True` every unhandled error returns the full traceback, local variables
    included, to whoever sent the request: file paths, SQL, sometimes secrets. The reloader
    watches the file system, restarts on any change and runs a single process, whatever
    the worker count says.

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI(debug=True)
    ```

    ## Use instead
    ```python
    import os

    from fastapi import FastAPI

    app = FastAPI(debug=os.getenv("APP_DEBUG") == "1")
    ```

    ## Known limitations
    A setting's default is what is judged (`debug: bool = True` in Settings); the deployed
    environment may override it, which the finding says. Reload flags in commands that
    are built at run time are not seen.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA413", slug="debug-in-production", family="security", dimension=Dimension.SECURITY,
        severity=Severity.MEDIUM, confidence=Confidence.HIGH,
        summary="debug mode or auto-reload enabled in the production entry point",
        effort_minutes=5, cwe=(489, 215), owasp=("A05:2021",), technology=("fastapi", "uvicorn"),
        fix="Default debug to False and enable it only from the environment in development; start "
            "production servers without --reload.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        yield from self.debug_apps(project)
        yield from self.reloading_servers(project)

    def debug_apps(self, project) -> Iterator[Finding]:
        security = project.security
        for module in project.summaries("source"):
            for call in module.calls:
                if call.name not in APP_CLASSES or call.has_star_args:
                    continue
                debug = call.keyword("debug")
                if debug is None or security.setting_literal(debug, module, call.scope) is not True:
                    continue
                literal = debug.kind == "const"
                where = Location(module.path, debug.line or call.line)
                evidence = [] if literal else [Evidence(where, f"debug={debug.text} defaults to True; the "
                                                               f"environment may override it")]
                yield self.finding(
                    f"{call.callee}(debug={debug.text}) "
                    + ("" if literal else "(True by default) ")
                    + "returns full tracebacks with local variables to any client on an unhandled error",
                    where, evidence=evidence, anchor=f"{module.module}:{call.target or call.callee}:debug",
                    severity=Severity.HIGH if literal else Severity.MEDIUM,
                    confidence=Confidence.HIGH if literal else Confidence.MEDIUM)

    def reloading_servers(self, project) -> Iterator[Finding]:
        seen: set[Location] = set()
        for server in project.deployment.servers:
            if not server.is_web or DEV_FILE.search(server.location.path.rsplit("/", 1)[-1]):
                continue
            setting = None if server.reload else self.reload_setting(project, server.location)
            if (not server.reload and setting is None) or server.location in seen:
                continue
            seen.add(server.location)
            evidence = [Evidence(server.location, f"started by: {server.command[:120]}")]
            if setting is not None:
                evidence.append(Evidence(server.location, f"reload={setting} defaults to True; the environment "
                                                          f"may override it"))
            yield self.finding(
                f"{server.server} runs with auto-reload in {server.location.path}"
                + (f" (service {server.service})" if server.service else "")
                + (f" (reload={setting}, True by default)" if setting else "")
                + ": one process that watches files and restarts on changes, whatever the worker count",
                server.location, anchor=f"{server.location.path}:reload", evidence=evidence,
                confidence=Confidence.MEDIUM if setting else Confidence.HIGH)

    @staticmethod
    def reload_setting(project, location: Location) -> str | None:
        """`uvicorn.run(..., reload=settings.debug)` in a deployed script, where the setting
        defaults to True: the expression, else None."""
        module = project.modules.get(location.path)
        if module is None:
            return None
        for call in module.calls:
            if call.line != location.line or call.name.rsplit(".", 1)[-1] != "run":
                continue
            reload = call.keyword("reload")
            if reload is not None and reload.kind != "const" and \
                    project.security.setting_literal(reload, module, call.scope) is True:
                return reload.text
        return None
