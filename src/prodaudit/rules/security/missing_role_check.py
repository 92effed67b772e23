from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.security.endpoints import (
    STATE_CHANGING,
    dependency_key,
    handler_name,
    literal_segments,
)
from prodaudit.rules.security.names import words

# Dependencies and helpers whose name says they check a role or permission.
ROLE_NAME = re.compile(
    r"(admin|superuser|staff|moderator|role|permission|perm(s)?$|privilege|scope|rbac|acl|"
    r"is_owner|has_access|authori[sz]e|can_)", re.IGNORECASE)
ADMIN_WORDS = frozenset({"admin", "admins", "administrator", "administration", "superuser", "staff",
                         "backoffice"})
# Words that may follow "admin" in a segment that is still the admin area: /admin-panel/...
ADMIN_SUFFIXES = frozenset({"panel", "api", "dashboard", "area", "console", "v1", "v2"})
MAX_DEPTH = 2  # how far into the functions a handler or dependency calls a check may sit


@register
class MissingRoleCheck(ProjectRule):
    """
    ## What it does
    Finds admin endpoints (the path or a router prefix says admin) that authenticate the
    caller but never check a role or permission: no `require_admin`/`verify_admin`-style
    dependency, no `current_user.is_superuser`/`role`/`permission` test in the handler,
    its dependencies or the functions they call.

    ## Why is this bad?
    Authentication only says who the caller is. Without a role check every registered user
    is an administrator: any account can read the analytics, change other users or run
    maintenance jobs.

    ## Example
    ```python
    from fastapi import Depends, FastAPI

    app = FastAPI()


    def verify_token():
        ...


    @app.get("/admin/analytics/revenue")
    def revenue(user_id: int = Depends(verify_token)):
        return {"total": 0}
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI, HTTPException

    app = FastAPI()
    ADMIN_IDS = {1, 2}


    def verify_token():
        ...


    def verify_admin(user_id: int = Depends(verify_token)):
        if user_id not in ADMIN_IDS:
            raise HTTPException(403)
        return user_id


    @app.get("/admin/analytics/revenue")
    def revenue(user_id: int = Depends(verify_admin)):
        return {"total": 0}
    ```

    ## Known limitations
    A role check is recognised by names (admin, superuser, role, permission, scope...) in
    dependencies, helper calls and conditions, up to two calls deep from the handler or a
    dependency. A check hidden behind a neutral name deeper than that is missed, and the
    endpoint is reported.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA402", slug="missing-role-check", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="admin endpoint that authenticates but never checks a role or permission",
        effort_minutes=20, cwe=(285, 269), owasp=("A01:2021", "API5:2023"), technology=("fastapi",),
        fix="Depend on an admin check (e.g. Depends(require_admin)) at the router or route, not on "
            "authentication alone.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        seen: set[tuple[Location, str]] = set()
        for endpoint in project.routes.endpoints:
            if not endpoint.auth or endpoint.method in ("HEAD", "OPTIONS"):
                continue
            if not is_admin_path(endpoint.url):
                continue
            if (endpoint.location, endpoint.method) in seen:
                continue
            if self.role_check(project, endpoint) is not None:
                continue
            seen.add((endpoint.location, endpoint.method))
            auth_names = sorted({d.target.rsplit(".", 1)[-1] for d in endpoint.auth if d.level != "nested"}) or \
                sorted({d.target.rsplit(".", 1)[-1] for d in endpoint.auth})
            state_changing = endpoint.method in STATE_CHANGING
            consequence = "any signed-in user can perform it" if state_changing else "any signed-in user can read it"
            evidence = [Evidence(d.location, f"authentication only: {d.target.rsplit('.', 1)[-1]} ({d.level})")
                        for d in endpoint.auth[:3]]
            if endpoint.handler is not None:
                evidence.insert(0, Evidence(endpoint.handler.location,
                                            f"handler {handler_name(endpoint)}() checks no role"))
            yield self.finding(
                f"Admin endpoint {endpoint.label} requires only authentication ({', '.join(auth_names)}), "
                f"no role or permission check: {consequence}",
                endpoint.location,
                severity=Severity.CRITICAL if state_changing else Severity.HIGH,
                evidence=evidence,
                anchor=f"{endpoint.handler.key if endpoint.handler else endpoint.url}:{endpoint.method}",
                details={"method": endpoint.method, "url": endpoint.url, "auth": ", ".join(auth_names)},
            )

    @staticmethod
    def role_check(project, endpoint) -> str | None:
        """Where the endpoint's role check is, or None."""
        for dep in endpoint.dependencies:
            name = dep.target.rsplit(".", 1)[-1]
            if ROLE_NAME.search(name) or "scopes=" in dep.text:
                return f"dependency {name}"
        keys = [dependency_key(project, d) for d in endpoint.dependencies]
        if endpoint.handler is not None:
            keys.insert(0, endpoint.handler.key)
        graph = project.callgraph
        security = project.security
        frontier = [k for k in keys if k]
        seen: set[str] = set()
        for _ in range(MAX_DEPTH + 1):
            following = []
            for key in frontier:
                if key in seen:
                    continue
                seen.add(key)
                if security.role_checks_in(key):
                    return f"condition in {key}"
                for call in security.calls_in(key):
                    if ROLE_NAME.search(call.callee.rsplit(".", 1)[-1]):
                        return f"{call.callee}() in {key}"
                following += [e.callee for e in graph.callees(key)]
            frontier = following
        return None


def is_admin_path(url: str) -> bool:
    """A path segment that names the admin area (`/admin/...`, `/api/admin-panel/...`), not
    a word inside another segment (`/me/admin-requests`)."""
    for segment in literal_segments(url):
        parts = words(segment)
        if parts and parts[0] in ADMIN_WORDS and all(p in ADMIN_SUFFIXES for p in parts[1:]):
            return True
    return False
