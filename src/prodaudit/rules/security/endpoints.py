"""How the security rules read an endpoint: what it does (changes state, touches money,
admin, another user's data, a paid API), whether it is public by design (login, health,
a webhook that checks its signature), and how it is protected.

Not a rule: shared by PA401-PA403 so an endpoint is described the same way everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodaudit.findings import Evidence, Location
from prodaudit.model.routes import AUTH_NAME
from prodaudit.rules.security.names import words

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SENSITIVE_WORDS = {
    "admin": "admin", "premium": "premium", "payment": "payments", "payments": "payments",
    "pay": "payments", "billing": "billing", "invoice": "invoices", "invoices": "invoices",
    "delete": "deletion", "export": "data export", "subscription": "subscriptions",
    "subscriptions": "subscriptions", "activate": "activation", "refund": "refunds",
    "refunds": "refunds", "checkout": "checkout", "purchase": "purchases", "withdraw": "withdrawals",
    "withdrawal": "withdrawals", "payout": "payouts", "payouts": "payouts", "wallet": "wallet",
    "tts": "text-to-speech", "balance": "balance", "credits": "credits",
}
# Parameters that name a user: an endpoint taking one reads or changes that user's data.
USER_PARAM = re.compile(r"^(user|account|customer|member|client|telegram|tg|chat|owner|profile)_?(id|uuid|pk)$|^uid$",
                        re.IGNORECASE)
USER_COLLECTION = frozenset({"user", "users", "account", "accounts", "customer", "customers",
                             "profile", "profiles", "member", "members"})
# Endpoints anyone must reach to get credentials at all.
LOGIN_WORDS = frozenset({"login", "logon", "signin", "signup", "register", "registration", "token",
                         "auth", "authenticate", "oauth", "oauth2", "sso", "otp", "magic", "refresh",
                         "logout", "signout", "callback", "verify", "confirm", "activation", "invite"})
PASSWORD_RESET = frozenset({"password", "reset", "forgot", "recover", "recovery"})
PROBE_WORDS = frozenset({"health", "healthz", "healthcheck", "ready", "readiness", "readyz", "live",
                         "liveness", "livez", "ping", "docs", "redoc", "openapi", "metrics", "favicon",
                         "robots"})
# Probe words only when they are the whole path (`/status`, `/api/version`), never
# `/profile/status/{user_id}`.
BARE_PROBE_WORDS = frozenset({"status", "version", "info"})
# Sensitive words that mean money or privileges: reported even in an app with no auth at all.
PRIVILEGE_LABELS = frozenset({"admin", "premium", "payments", "billing", "invoices", "subscriptions",
                              "activation", "refunds", "checkout", "purchases", "withdrawals", "payouts",
                              "wallet", "balance", "credits"})
WEBHOOK_WORDS = frozenset({"webhook", "webhooks", "hook", "hooks", "ipn", "notify", "notification",
                           "callback", "events", "stripe", "telegram", "yookassa", "cryptoprocessing"})
# Handler parameters that carry a credential checked in the body.
CREDENTIAL_PARAM = re.compile(r"^(authorization|x_?api_?key|api_?key|x_?token|token|x_?auth_?token|"
                              r"signature|x_?signature|x_?hub_?signature(_256)?|stripe_?signature|"
                              r"secret|x_?telegram_?bot_?api_?secret_?token|init_?data|x_?init_?data|hash)$",
                              re.IGNORECASE)


def segments(url: str) -> list[str]:
    return [s for s in url.split("/") if s]


def literal_segments(url: str) -> list[str]:
    return [s for s in segments(url) if not s.startswith("{")]


def path_params(url: str) -> list[str]:
    return [s.strip("{}").split(":")[0] for s in segments(url) if s.startswith("{")]


def url_words(url: str) -> set[str]:
    return {w for s in literal_segments(url) for w in words(s)}


def last_literal_words(url: str) -> set[str]:
    literal = literal_segments(url)
    return set(words(literal[-1])) if literal else set()


def login_like(url: str, handler_name: str = "") -> str:
    """"login", "password reset", "" ...: the credential flow an endpoint serves."""
    last = last_literal_words(url)
    name = set(words(handler_name))
    if last & PASSWORD_RESET and (last & {"reset", "forgot", "recover", "recovery"} or
                                  url_words(url) & {"reset", "forgot", "recover", "recovery"}):
        return "password reset"
    if {"password", "recovery"} <= url_words(url) or ({"reset", "password"} <= url_words(url)):
        return "password reset"
    for word in ("login", "logon", "signin", "token", "otp", "register", "registration", "signup"):
        if word in last:
            return {"logon": "login", "signin": "login", "registration": "register", "signup": "register"}.get(word, word)
    if last == {"auth"} or last == {"authenticate"}:
        return "token"
    if {"sign", "in"} <= last:
        return "login"
    if {"sign", "up"} <= last:
        return "register"
    if last & {"2fa", "mfa", "totp"} and last & {"verify", "confirm", "check", "login"}:
        return "otp"
    if not last and name & {"login", "signin", "register", "signup"}:
        return "login"
    # `POST /users` handled by `register()`/`sign_up()`: sign-up on the users collection
    # itself (not `/users/{id}/...`, whatever its handler is called).
    registers = name & {"register", "registration", "signup"} or {"sign", "up"} <= name
    url_segments = segments(url)
    if registers and last & USER_COLLECTION and not url_segments[-1].startswith("{"):
        return "register"
    return ""


def public_by_design(url: str, method: str, handler_name: str) -> str:
    """Why an endpoint is meant to be reachable without credentials, or ""."""
    last = last_literal_words(url)
    all_words = url_words(url)
    if login_like(url, handler_name):
        return f"{login_like(url, handler_name)} endpoint"
    if last & LOGIN_WORDS:
        return "part of the sign-in flow"
    if method in ("GET", "HEAD", "OPTIONS") and (last & PROBE_WORDS or not segments(url)):
        return "health/docs probe"
    if method in ("GET", "HEAD") and last & BARE_PROBE_WORDS and not path_params(url) and len(segments(url)) <= 2:
        return "status probe"
    if "callback" in all_words and all_words & {"oauth", "oauth2", "auth", "sso", "google", "github",
                                                "telegram", "login"}:
        return "OAuth callback"
    return ""


def is_webhook(url: str, handler_name: str) -> bool:
    return bool((url_words(url) | set(words(handler_name))) & {"webhook", "webhooks", "hook", "hooks", "ipn"}) or \
        bool(url_words(url) & WEBHOOK_WORDS and set(words(handler_name)) & {"webhook", "callback", "notify"})


def sensitive_reasons(url: str, handler_name: str) -> list[str]:
    """What in the path or handler name says the endpoint is sensitive."""
    found: list[str] = []
    for word in sorted(url_words(url) | set(words(handler_name))):
        label = SENSITIVE_WORDS.get(word)
        if label and label not in found:
            found.append(label)
    literal = [s.lower() for s in segments(url)]
    for index, segment in enumerate(literal):
        if not segment.startswith("{"):
            continue
        name = segment.strip("{}").split(":")[0]
        previous = set(words(literal[index - 1])) if index else set()
        if USER_PARAM.match(name) or (name in ("id", "pk", "uuid") and previous & USER_COLLECTION):
            found.append(f"another user's data by `{{{name}}}`")
            break
    return found


def request_user_id(project, node) -> str:
    """A user id the request supplies: a `user_id` parameter, or a `user_id` field of the
    body model. Acting on it without authentication acts on anyone's account."""
    for param in node.fact.params:
        default = param.default
        if default is not None and default.kind == "call" and default.name.rsplit(".", 1)[-1] in ("Depends", "Security"):
            continue
        if USER_PARAM.match(param.name):
            return f"`{param.name}` from the request"
        annotation = param.annotation
        if annotation is None or annotation.kind not in ("name", "attr"):
            continue
        found = project.callgraph.class_from_name(node.module, annotation.text, annotation.name)
        if found is None:
            continue
        module, cls = found
        for fact in module.assignments:
            if fact.scope == cls.qualname and USER_PARAM.match(fact.target):
                return f"`{fact.target}` from the request body ({cls.name})"
    return ""


def credential_params(fact) -> list[str]:
    """Handler parameters that carry a credential the body checks (authorization header,
    X-Signature, init data). Parameters that are FastAPI dependencies are not counted."""
    out = []
    for param in fact.params:
        default = param.default
        if default is not None and default.kind == "call" and default.name.rsplit(".", 1)[-1] in ("Depends", "Security"):
            continue
        alias = default.keyword("alias") if default is not None and default.kind == "call" else None
        name = str(alias.const) if alias is not None and alias.kind == "const" else param.name
        if CREDENTIAL_PARAM.match(name.replace("-", "_")):
            out.append(name)
    return out


@dataclass(frozen=True)
class Protection:
    """How an endpoint without an auth dependency still checks its caller."""

    location: Location
    description: str


def annotation_protection(project, node, unknown_counts: bool = True) -> Protection | None:
    """A parameter typed with an auth alias (`current_user: CurrentUser`), or (when
    `unknown_counts`) with a name from a module we could not parse: its dependencies are
    unknown, so is its auth."""
    for param in node.fact.params:
        annotation = param.annotation
        if annotation is None or annotation.kind not in ("name", "attr"):
            continue
        tail = annotation.text.rsplit(".", 1)[-1]
        if AUTH_NAME.search("_".join(words(tail))):
            return Protection(node.location, f"parameter {param.name}: {tail} (an auth alias)")
        found = project.resolve_symbol(annotation.name) if annotation.name != annotation.text or "." in annotation.name else None
        if unknown_counts and found is not None and found[0].problem is not None:
            return Protection(node.location, f"parameter {param.name}: {tail} comes from {found[0].path}, "
                                             f"which could not be parsed")
    return None


def conditional_include(project, endpoint) -> Location | None:
    """An include_router on the way to the endpoint that runs only under a condition
    (`if settings.ENV == "development": app.include_router(debug.router)`)."""
    for location in endpoint.includes:
        text = project.read_text(location.path)
        if text is None:
            continue
        lines = text.splitlines()
        line = lines[location.line - 1] if 0 < location.line <= len(lines) else ""
        module = project.modules.get(location.path)
        at_module_level = module is not None and any(
            c.line == location.line and c.scope == "" for c in module.calls)
        if at_module_level and line[:1] in (" ", "\t") and _under_if(lines, location.line):
            return location
    return None


def _under_if(lines: list[str], number: int) -> bool:
    """The block header the line sits in (looking upwards) is an if/elif/else."""
    indent = len(lines[number - 1]) - len(lines[number - 1].lstrip())
    for previous in range(number - 2, -1, -1):
        text = lines[previous]
        stripped = text.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(text) - len(stripped) < indent:
            return stripped.startswith(("if ", "elif ", "else:", "if("))
    return False


def handler_protection(project, endpoint) -> Protection | None:
    """Inline checks in the handler (signature verification, token decoding, a credential
    header compared in the body), or a non-auth-named dependency that decodes a token."""
    handler = endpoint.handler
    if handler is None:
        return None
    security = project.security
    hit = security.inline_auth(handler.key, depth=1)
    if hit is not None:
        return Protection(hit[0], f"checks the caller inline: {hit[1]}")
    node = project.callgraph.nodes.get(handler.key)
    if node is not None:
        by_annotation = annotation_protection(project, node)
        if by_annotation is not None:
            return by_annotation
        params = credential_params(node.fact)
        if params:
            return Protection(node.location, f"takes a credential parameter ({', '.join(params)}) checked in the body")
    for dep in endpoint.dependencies:
        if dep.is_auth or dep.is_rate_limit:
            continue
        found = project.callgraph.nodes.get(dependency_key(project, dep))
        if found is None:
            continue
        hit = security.inline_auth(found.key, depth=1)
        if hit is not None:
            return Protection(hit[0], f"dependency {dep.target.rsplit('.', 1)[-1]} checks the caller: {hit[1]}")
    return None


def dependency_key(project, dep) -> str:
    """Call graph key of the function a dependency names, "" when it is not a project function."""
    found = project.function(dep.target)
    if found is None:
        resolved = project.resolve_symbol(dep.target)
        if resolved is not None and resolved[0].function(resolved[1]):
            found = resolved[0], resolved[0].function(resolved[1])
    if found is None:
        return ""
    module, fn = found
    return f"{module.module}:{fn.qualname}"


def app_groups(endpoints) -> dict[str, list]:
    groups: dict[str, list] = {}
    for endpoint in endpoints:
        groups.setdefault(endpoint.app, []).append(endpoint)
    return groups


def auth_example(endpoints) -> Evidence | None:
    """One authenticated endpoint of the same app, to show the app has an auth scheme."""
    for endpoint in endpoints:
        if endpoint.auth:
            dep = endpoint.auth[0]
            return Evidence(endpoint.location, f"{endpoint.label} requires {dep.target.rsplit('.', 1)[-1]}")
    return None


def handler_name(endpoint) -> str:
    return endpoint.handler.qualname.rsplit(".", 1)[-1] if endpoint.handler else ""
