from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.security.endpoints import (
    CREDENTIAL_PARAM,
    PRIVILEGE_LABELS,
    STATE_CHANGING,
    app_groups,
    auth_example,
    conditional_include,
    handler_name,
    handler_protection,
    is_webhook,
    path_params,
    public_by_design,
    request_user_id,
    sensitive_reasons,
)

# Calls that persist something: a handler reaching one changes stored state.
WRITE_METHODS = frozenset({"commit", "flush", "add_all", "bulk_save_objects", "insert_one", "insert_many",
                           "update_one", "update_many", "delete_one", "delete_many", "replace_one", "hset",
                           "setex", "incr", "incrby", "lpush", "rpush", "sadd", "zadd", "xadd", "put_item",
                           "delete_item", "update_item"})
SESSION_RECEIVERS = frozenset({"session", "db", "sess", "conn", "connection", "uow", "db_session"})


@register
class UnauthenticatedEndpoint(ProjectRule):
    """
    ## What it does
    Finds endpoints that change state (POST/PUT/PATCH/DELETE) or are sensitive (admin,
    premium, payments, billing, exports, deletion, another user's data by id, calls to a
    paid LLM or text-to-speech API) and have no authentication, in an app where other
    endpoints do require it. Authentication is an auth dependency at app, include, router,
    route or parameter level, or a check in the handler (a signature verification, a token
    decoded, a credential header read).

    ## Why is this bad?
    When an app authenticates some endpoints, the ones left open are usually forgotten,
    not public by design. Anyone who finds the URL can activate premium for any account,
    read or delete another user's profile, or run up the bill of a paid API.

    ## Example
    ```python
    from fastapi import Depends, FastAPI

    app = FastAPI()


    def get_current_user():
        ...


    @app.get("/me")
    def me(user=Depends(get_current_user)):
        return user


    @app.post("/premium/activate")
    def activate_premium(user_id: int):
        return {"activated": user_id}
    ```

    ## Use instead
    ```python
    from fastapi import Depends, FastAPI

    app = FastAPI()


    def get_current_user():
        ...


    @app.get("/me")
    def me(user=Depends(get_current_user)):
        return user


    @app.post("/premium/activate")
    def activate_premium(user=Depends(get_current_user)):
        return {"activated": user}
    ```

    ## Known limitations
    Auth is recognised by dependency names (get_current_user, require_*, verify_token,
    fastapi.security schemes...) and by inline checks; a dependency with an unusual name
    that authenticates without any of those is missed, and its endpoints may be reported.
    Login, registration, token, password reset, health, docs, OAuth callbacks and webhooks
    that verify a signature are public by design and never reported. When a middleware
    authenticates requests, findings are only `info`: its path exclusions are not read.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA401", slug="unauthenticated-endpoint", family="security", dimension=Dimension.SECURITY,
        severity=Severity.CRITICAL, confidence=Confidence.MEDIUM,
        summary="state-changing or sensitive endpoint without authentication in an app that has auth",
        effort_minutes=30, cwe=(306, 862), owasp=("A01:2021", "API5:2023"), technology=("fastapi",),
        fix="Add the app's auth dependency (e.g. Depends(get_current_user)) and act on the "
            "authenticated user, never on an id taken from the request.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        security = project.security
        middleware = security.auth_middleware
        seen: set[tuple[Location, str]] = set()
        for _, group in sorted(app_groups(project.routes.endpoints).items()):
            example = auth_example(group)
            authenticated = sum(1 for e in group if e.auth)
            for endpoint in group:
                if endpoint.auth or endpoint.method in ("WS", "HEAD", "OPTIONS"):
                    continue
                if (endpoint.location, endpoint.method) in seen:
                    continue
                finding = self.check_endpoint(project, endpoint, authenticated, example, middleware)
                if finding is not None:
                    seen.add((endpoint.location, endpoint.method))
                    yield finding

    def check_endpoint(self, project, endpoint, authenticated: int, example, middleware) -> Finding | None:
        name = handler_name(endpoint)
        state_changing = endpoint.method in STATE_CHANGING
        reasons = sensitive_reasons(endpoint.url, name)
        node = project.callgraph.nodes.get(endpoint.handler.key) if endpoint.handler else None
        if node is not None and not any(r.startswith("another user's") for r in reasons):
            supplied = request_user_id(project, node)
            if supplied:
                reasons.append(f"acts on {supplied}")
        evidence: list[Evidence] = []
        paid = None
        if endpoint.handler is not None:
            paid = project.security.reaches_paid_api(endpoint.handler.key, endpoint.label)
        if paid is not None:
            call, path = paid
            reasons.append(f"calls the paid {call.service} API")
            evidence.append(Evidence(call.location, f"{call.service} called here"
                                     + (f" ({project.callgraph.describe_path(endpoint.label, path)})" if path else "")))
        if not state_changing and not reasons:
            return None
        no_auth_scheme = example is None and not middleware
        if no_auth_scheme and not (state_changing and PRIVILEGE_LABELS & set(reasons)):
            # No endpoint authenticates: the app may be internal by design. Only money and
            # privileges given away to any caller are worth saying so.
            return None
        if public_by_design(endpoint.url, endpoint.method, name):
            return None
        if any(CREDENTIAL_PARAM.match(p) for p in path_params(endpoint.url)):
            return None  # a secret in the URL path (/webhook/{token}) is checked by the handler
        if handler_protection(project, endpoint) is not None:
            return None
        write = self.reaches_write(project, endpoint) if state_changing else None
        if write is not None:
            evidence.append(write)
        webhook = is_webhook(endpoint.url, name)
        conditional = conditional_include(project, endpoint)
        privileged = bool(PRIVILEGE_LABELS & set(reasons))
        if middleware or conditional is not None:
            severity = Severity.INFO
        elif no_auth_scheme:
            severity = Severity.HIGH
        elif state_changing and (privileged or endpoint.method != "POST" or (reasons and write is not None)):
            severity = Severity.CRITICAL
        elif reasons or paid is not None or write is not None:
            severity = Severity.HIGH
        else:
            severity = Severity.MEDIUM  # a POST that writes nothing we can see
        if paid is not None and write is None:
            what = "spends money on each call"
            reasons = [f"{paid[0].service} API" if r.startswith("calls the paid") else r for r in reasons]
        elif state_changing and write is None and endpoint.method == "POST" and not reasons:
            what = "accepts POST requests (no write found)"
        else:
            what = "changes state" if state_changing else "serves sensitive data"
        why = f" ({', '.join(reasons)})" if reasons else ""
        others = authenticated  # endpoints of the app that require auth
        if webhook:
            message = (f"Webhook {endpoint.label} {what} with no authentication and no signature check "
                       f"in its handler: anyone can forge its events")
        elif middleware and not others:
            message = (f"{endpoint.label} {what}{why} with no auth dependency: review that the "
                       f"authentication middleware covers it")
        elif no_auth_scheme:
            message = (f"{endpoint.label} {what}{why} and no endpoint of this app requires "
                       f"authentication: any caller who can reach the API can do it")
        elif conditional is not None:
            message = (f"{endpoint.label} {what}{why} with no authentication; its router is included "
                       f"only under a condition ({conditional}): make sure it is never enabled in production")
        else:
            others_text = ("endpoints of this app require" if others != 1
                           else "endpoint of this app requires")
            message = (f"{endpoint.label} {what}{why} with no authentication, while {others} other "
                       f"{others_text} it: anyone can call it")
        if endpoint.handler is not None:
            evidence.insert(0, Evidence(endpoint.handler.location, f"handler {name}() takes no auth dependency"))
        if example is not None:
            evidence.append(example)
        if conditional is not None:
            evidence.append(Evidence(conditional, "included only under this condition"))
        for item in middleware[:2]:
            evidence.append(Evidence(item.location, f"{item.description}: may authenticate this path"))
        return self.finding(
            message, endpoint.location, severity=severity, evidence=evidence,
            anchor=f"{endpoint.handler.key if endpoint.handler else endpoint.url}:{endpoint.method}",
            details={"method": endpoint.method, "url": endpoint.url,
                     "reasons": ", ".join(reasons) or "state-changing"},
        )

    @staticmethod
    def reaches_write(project, endpoint) -> Evidence | None:
        """A database or store write the handler reaches (commit, add_all, hset...)."""
        if endpoint.handler is None:
            return None
        graph = project.callgraph
        reached = graph.reachable({endpoint.handler.key: endpoint.label}, kinds=("call", "thread"), max_depth=5)
        for key, (_, path) in sorted(reached.items(), key=lambda item: len(item[1][1])):
            node = graph.nodes.get(key)
            if node is None:
                continue
            for call in project.security.calls_in(key):
                parts = call.callee.split(".")
                tail = parts[-1]
                receiver = parts[-2].lower() if len(parts) > 1 else ""
                if tail in WRITE_METHODS or (tail in ("add", "delete", "merge") and receiver in SESSION_RECEIVERS):
                    where = graph.describe_path(endpoint.label, path) if path else endpoint.label
                    return Evidence(Location(node.module.path, call.line), f"writes here: {call.callee}() ({where})")
        return None
