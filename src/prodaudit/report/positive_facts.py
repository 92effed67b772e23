"""Good practice the model can prove from calls and endpoints, for the "what works" section.

Each fact is counted from resolved call names in source modules (imports included: a call
named `hmac.compare_digest` is one whose module imports hmac), never from file text, and is
only claimed when every occurrence the model sees qualifies (e.g. every jwt.decode names
its algorithms). Returned as (message key, params, evidence locations).
"""

from __future__ import annotations

from prodaudit.findings import Location
from prodaudit.model.health import concept

Fact = tuple[str, tuple[tuple[str, str | int], ...], tuple[Location, ...]]

COMPARE_DIGEST = frozenset({"hmac.compare_digest", "secrets.compare_digest"})
JWT_DECODE = frozenset({"jwt.decode", "jose.jwt.decode", "jwt.api_jwt.decode", "authlib.jose.jwt.decode"})
EAGER_LOADERS = frozenset({"selectinload", "joinedload", "subqueryload", "contains_eager", "immediateload"})
CORS_MIDDLEWARE = frozenset({"fastapi.middleware.cors.CORSMiddleware", "starlette.middleware.cors.CORSMiddleware"})
STRUCTURED_LOGGING = ("structlog", "pythonjsonlogger", "python_json_logger", "json_log_formatter",
                      "ecs_logging", "logfire")
# Calls in a health handler that reach the database or the cache.
DB_PROBES = (".execute", ".exec_driver_sql", ".fetchval", ".fetchrow", ".scalar", ".scalars")
CACHE_PROBES = (".ping",)
SHOWN = 5


def _calls(project, names=None, suffixes: tuple[str, ...] = ()):
    for module in project.summaries("source"):
        for call in module.calls:
            if (names is not None and call.name in names) or (suffixes and call.name.endswith(suffixes)):
                yield module, call


def _where(found) -> tuple[Location, ...]:
    return tuple(Location(m.path, c.line) for m, c in found[:SHOWN])


def compare_digest(project) -> list[Fact]:
    found = list(_calls(project, COMPARE_DIGEST))
    return [("compare-digest", (("calls", len(found)),), _where(found))] if found else []


def jwt_algorithms(project) -> list[Fact]:
    decodes = list(_calls(project, JWT_DECODE))
    if not decodes or any(c.keyword("algorithms") is None for _, c in decodes):
        return []
    return [("jwt-algorithms", (("calls", len(decodes)),), _where(decodes))]


def eager_loading(project) -> list[Fact]:
    found = [(m, c) for m, c in _calls(project, suffixes=tuple("." + n for n in EAGER_LOADERS))
             if c.name.startswith(("sqlalchemy.", "sqlmodel."))]
    if not found:
        return []
    kinds = ", ".join(sorted({c.name.rsplit(".", 1)[-1] for _, c in found}))
    return [("eager-loading", (("calls", len(found)), ("loaders", kinds)), _where(found))]


def cors_restricted(project) -> list[Fact]:
    """Every CORSMiddleware registration lists its origins literally (or through module
    constants), none is "*", and no allow_origin_regex is given."""
    registrations = []
    for module, call in _calls(project, suffixes=(".add_middleware",)):
        if call.args and call.args[0].name in CORS_MIDDLEWARE:
            registrations.append((module, call))
    if not registrations:
        return []
    origins: set[str] = set()
    for module, call in registrations:
        value = call.keyword("allow_origins")
        if value is None or call.keyword("allow_origin_regex") is not None:
            return []
        if value.kind == "name" and "." not in value.text:
            # ORIGINS = [...] at module level
            fact = project.assignment(module, "", value.text)
            value = fact.value if fact is not None and fact.value is not None else value
        if value.kind not in ("list", "tuple", "set"):
            return []  # settings or an expression: the origins are not provable here
        items_text = [project.constant(item, module) for item in value.items]
        if not items_text or any(not isinstance(o, str) or "*" in o for o in items_text):
            return []
        origins.update(items_text)
    return [("cors", (("origins", len(origins)),), _where(registrations))]


def structured_logging(project) -> list[Fact]:
    for module in project.summaries("source"):
        for fact in module.imports:
            if fact.target.startswith(STRUCTURED_LOGGING):
                return [("structured-logging", (("library", fact.target.split(".")[0]),),
                         (Location(module.path, fact.line),))]
    return []


def health_probes(project) -> list[Fact]:
    """Health/readiness endpoints whose handler itself runs a query or a ping."""
    probing = []
    for endpoint in project.routes.endpoints:
        handler = endpoint.handler
        if handler is None or concept(endpoint.url) is None:
            continue
        module = project.modules.get(handler.path)
        if module is None:
            continue
        calls = [c for c in module.calls if c.scope == handler.qualname
                 and c.name.endswith(DB_PROBES + CACHE_PROBES)]
        if calls:
            probing.append((endpoint.label, Location(module.path, calls[0].line)))
    if not probing:
        return []
    return [("health-probe", (("urls", ", ".join(sorted({label for label, _ in probing}))),),
             tuple(loc for _, loc in probing[:SHOWN]))]


def proven_practices(project) -> list[Fact]:
    facts: list[Fact] = []
    for prove in (compare_digest, jwt_algorithms, cors_restricted, eager_loading, structured_logging,
                  health_probes):
        facts.extend(prove(project))
    return facts
