from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.model.values import dotted_name
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.security.names import is_secret_name, words

AUTH_COOKIE_WORDS = frozenset({"session", "sess", "sid", "token", "jwt", "auth", "refresh", "access",
                               "remember", "login", "identity", "sessionid"})
# csrf cookies are read by the page's script in the double-submit pattern: httponly breaks them.
# `last_login_method`, `login_hint`: which sign-in to offer, not a credential.
NOT_AUTH_COOKIE_WORDS = frozenset({"csrf", "xsrf", "theme", "lang", "locale", "consent", "tz", "method",
                                   "hint", "provider"})
# Frameworks whose set_cookie defaults samesite to "lax" (a missing samesite is then fine).
LAX_BY_DEFAULT = ("fastapi", "starlette")
CONSEQUENCES = {
    "httponly": "readable by any script on the page (one XSS steals it)",
    "secure": "sent over plain HTTP",
    "samesite": "sent on cross-site requests (CSRF)",
}


@register
class InsecureCookie(FileRule):
    """
    ## What it does
    Finds `set_cookie(...)` calls that set an authentication cookie (named like session,
    token, jwt, auth, refresh, or carrying a token value) without `httponly=True`,
    `secure=True` or a `samesite` policy. FastAPI/Starlette default samesite to "lax",
    so only httponly and secure are required there.

    ## Why is this bad?
    Without `httponly`, any script injected into the page reads the session and sends it
    away. Without `secure`, the cookie travels in clear text over any HTTP request. Without
    `samesite`, other sites can make the browser send it along (CSRF).

    ## Example
    ```python
    from fastapi import Response

    def start_session(response: Response, token: str) -> None:
        response.set_cookie("session", token)
    ```

    ## Use instead
    ```python
    from fastapi import Response

    def start_session(response: Response, token: str) -> None:
        response.set_cookie("session", token, httponly=True, secure=True, samesite="lax")
    ```

    ## Known limitations
    A flag given as an expression (`secure=settings.COOKIE_SECURE`) counts as set. Cookies
    set through `**options` or a framework's session middleware are not judged.
    """

    meta = RuleMeta(
        id="PA415", slug="insecure-cookie", family="security", dimension=Dimension.SECURITY,
        severity=Severity.MEDIUM, confidence=Confidence.HIGH,
        summary="auth cookie set without httponly, secure or samesite",
        effort_minutes=5, cwe=(1004, 614, 1275), owasp=("A05:2021", "A07:2021"),
        fix="Set auth cookies with httponly=True, secure=True and samesite='lax' (or 'strict').",
    )

    def check_module(self, module) -> Iterator[Finding]:
        lax_default = any((node.module or "").startswith(LAX_BY_DEFAULT) for node in module.nodes(ast.ImportFrom)) \
            or any(alias.name.startswith(LAX_BY_DEFAULT) for node in module.nodes(ast.Import) for alias in node.names)
        for call in module.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr != "set_cookie":
                continue
            if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
                continue
            keywords = {k.arg: k.value for k in call.keywords}
            key = keywords.get("key") or (call.args[0] if call.args else None)
            value = keywords.get("value") or (call.args[1] if len(call.args) > 1 else None)
            name = self.cookie_name(key, value)
            if name is None:
                continue
            missing = [flag for flag in ("httponly", "secure", "samesite")
                       if flag != "samesite" or not lax_default
                       if _unset(keywords.get(flag), flag)]
            if not missing:
                continue
            fn = module.enclosing_function(call)
            scope = module.scope_name(fn) if fn is not None else ""
            yield self.finding(
                f"Auth cookie {name} is set without {', '.join(f + '=True' if f != 'samesite' else f for f in missing)}:"
                f" it is {'; '.join(CONSEQUENCES[f] for f in missing)}",
                module.location(call), anchor=f"{module.module}:{scope}:{name}",
                severity=Severity.MEDIUM if "httponly" in missing or "secure" in missing else Severity.LOW)

    @staticmethod
    def cookie_name(key: ast.expr | None, value: ast.expr | None) -> str | None:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            parts = set(words(key.value))
            if parts & NOT_AUTH_COOKIE_WORDS:
                return None
            return f"'{key.value}'" if parts & AUTH_COOKIE_WORDS else None
        if key is not None:
            key_text = dotted_name(key) or ""
            if set(words(key_text)) & NOT_AUTH_COOKIE_WORDS:
                return None
            if set(words(key_text)) & AUTH_COOKIE_WORDS:
                return f"`{key_text}`"
        value_text = dotted_name(value) if value is not None else None
        if value_text and is_secret_name(value_text.rsplit(".", 1)[-1]):
            return f"holding `{value_text}`"
        return None


def _unset(value: ast.expr | None, flag: str) -> bool:
    if value is None:
        return True
    if isinstance(value, ast.Constant):
        if flag == "samesite":
            return value.value is None or str(value.value).lower() == "none"
        return not value.value
    return False  # an expression (settings.COOKIE_SECURE): assume it is set where it matters
