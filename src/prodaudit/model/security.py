"""Cross-file facts the security rules ask about: what each function calls, which
functions test roles, which reach a paid external API (LLM, text-to-speech), which
authenticate inline, whether a middleware authenticates every request, and the literal
defaults behind settings attributes.

Built once per audit from module summaries and the call graph (`Project.security`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from prodaudit.findings import Location
from prodaudit.model.callgraph import Edge
from prodaudit.model.extractors.security import CredentialUrl, RoleCheck, SqlBuild
from prodaudit.model.facts import AssignFact, CallFact, ClassFact, ModuleSummary
from prodaudit.model.values import Value

# SDKs whose calls cost money per request: LLMs and speech synthesis.
PAID_SDKS = {
    "openai": "OpenAI", "anthropic": "Anthropic", "google.generativeai": "Gemini",
    "google.genai": "Gemini", "vertexai": "Vertex AI", "elevenlabs": "ElevenLabs",
    "gtts": "gTTS", "cohere": "Cohere", "mistralai": "Mistral", "groq": "Groq",
    "replicate": "Replicate", "litellm": "LiteLLM", "langchain_openai": "OpenAI",
    "langchain_anthropic": "Anthropic", "langchain_google_genai": "Gemini",
    "google.cloud.texttospeech": "Google Text-to-Speech", "azure.cognitiveservices.speech": "Azure Speech",
    "together": "Together AI", "deepseek": "DeepSeek", "yandex_cloud_ml_sdk": "YandexGPT",
    "gigachat": "GigaChat",
}


@lru_cache(maxsize=8192)  # asked for every call of the project, with few distinct names
def _paid_sdk(name: str) -> str | None:
    for prefix, label in PAID_SDKS.items():
        if name == prefix or name.startswith(prefix + "."):
            return label
    return None


PAID_HOSTS = {"api.openai.com": "OpenAI", "api.anthropic.com": "Anthropic",
              "generativelanguage.googleapis.com": "Gemini", "api.elevenlabs.io": "ElevenLabs",
              "texttospeech.googleapis.com": "Google Text-to-Speech", "api.deepseek.com": "DeepSeek",
              "openrouter.ai": "OpenRouter", "api.mistral.ai": "Mistral", "api.groq.com": "Groq"}
# Calls that authenticate or verify a caller when made inside a handler.
INLINE_AUTH_CALL = re.compile(
    r"^verify_?(token|jwt|signature|sig|auth\w*|api_?key|access|init_?data|telegram\w*|webhook\w*|hmac|"
    r"credentials|session|admin|user|callback\w*|secret\w*|bearer)$|"
    r"^(validate|check)_?(token|jwt|signature|api_?key|init_?data|telegram\w*|webhook\w*|hmac|credentials|"
    r"auth\w*|secret\w*|access|bearer)$|"
    r"^(authenticate\w*|authori[sz]e\w*|require_\w+|get_current_\w+|decode_(access_|auth_)?token|"
    r"decode_jwt|compare_digest|construct_event|verify)$", re.IGNORECASE)
INLINE_AUTH_NAMES = frozenset({"jwt.decode", "jose.jwt.decode", "hmac.compare_digest",
                               "secrets.compare_digest", "stripe.Webhook.construct_event",
                               "stripe.WebhookSignature.verify_header"})
# Request headers that carry credentials; reading one in a handler or middleware is auth.
AUTH_HEADERS = re.compile(r"^(authorization|x-api-key|x-auth-token|x-access-token|api-key|"
                          r"x-telegram-bot-api-secret-token|x-hub-signature(-256)?|stripe-signature|"
                          r"x-signature|x-webhook-signature|x-token|x-init-data)$", re.IGNORECASE)
AUTH_MIDDLEWARE_CLASS = re.compile(r"(auth|jwt|token|api_?key|bearer|login|permission|access_?control)", re.IGNORECASE)
NOT_AUTH_MIDDLEWARE = re.compile(r"(cors|gzip|trustedhost|session|csrf|prometheus|httpsredirect)", re.IGNORECASE)
BASE_SETTINGS = re.compile(r"(^|\.)BaseSettings$")
FIELD_CALLS = frozenset({"Field", "pydantic.Field", "pydantic.fields.Field", "sqlmodel.Field"})
ENV_GET = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault"})
SLOW_HASHES = ("passlib.", "bcrypt.hashpw", "bcrypt.gensalt", "argon2.", "pwdlib.", "hashlib.scrypt",
               "hashlib.pbkdf2_hmac", "werkzeug.security.generate_password_hash")


@dataclass(frozen=True)
class PaidCall:
    function: str  # call graph key of the function making the call
    service: str  # "OpenAI", "ElevenLabs"
    location: Location
    text: str


@dataclass(frozen=True)
class AuthMiddleware:
    location: Location
    description: str  # "AuthMiddleware added with add_middleware", "@app.middleware('http') check_auth"


@dataclass(frozen=True)
class GoodPractice:
    """Security done right, with where: the "what works" part of a review."""

    topic: str  # password-hashing, constant-time-compare, cors, jwt, sql
    description: str
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class SettingsField:
    module: ModuleSummary
    cls: ClassFact
    fact: AssignFact
    default: Value | None  # the literal default as written (Field(default=...) unwrapped)
    env_default: bool  # the default is os.getenv(..., default)


class SecurityModel:
    def __init__(self, project):
        self.project = project
        self.calls: dict[str, list[CallFact]] = {}
        self.role_checks: dict[str, list[RoleCheck]] = {}
        for module in project.summaries("source"):
            for call in module.calls:
                if call.scope:
                    self.calls.setdefault(f"{module.module}:{call.scope}", []).append(call)
            for fact in module.facts_of(RoleCheck):
                self.role_checks.setdefault(f"{module.module}:{fact.scope}", []).append(fact)

    # -- what functions do ---------------------------------------------------------------
    def calls_in(self, key: str) -> list[CallFact]:
        return self.calls.get(key, [])

    def role_checks_in(self, key: str) -> list[RoleCheck]:
        return self.role_checks.get(key, [])

    def module_of(self, key: str) -> ModuleSummary | None:
        node = self.project.callgraph.nodes.get(key)
        return node.module if node else None

    def inline_auth(self, key: str, depth: int = 1) -> tuple[Location, str] | None:
        """A call in the function (or the functions it calls, `depth` levels down) that
        authenticates the caller: verify_signature(...), jwt.decode(...), a credential
        header read."""
        graph = self.project.callgraph
        keys = [key]
        frontier = [key]
        for _ in range(depth):
            frontier = [e.callee for k in frontier for e in graph.callees(k) if e.kind in ("call", "depends")]
            keys += frontier
        for current in dict.fromkeys(keys):
            module = self.module_of(current)
            if module is None:
                continue
            for call in self.calls_in(current):
                tail = call.name.rsplit(".", 1)[-1]
                if call.name in INLINE_AUTH_NAMES or INLINE_AUTH_CALL.match(tail):
                    return Location(module.path, call.line), f"{call.callee}()"
                if tail in ("get", "__getitem__") and ".headers" in call.callee and call.args and \
                        call.args[0].kind == "const" and AUTH_HEADERS.match(str(call.args[0].const)):
                    return Location(module.path, call.line), f"reads the {call.args[0].const} header"
        return None

    # -- paid external APIs ----------------------------------------------------------------
    @staticmethod
    def _sdk(name: str) -> str | None:
        return _paid_sdk(name)

    def _receiver_value(self, module: ModuleSummary, scope: str, callee: str, resolved: str) -> Value | None:
        """What the receiver of `receiver.method()` was assigned from, when it is visible."""
        head = callee.split(".")[0]
        if head in ("self", "cls") and callee.count(".") >= 2:
            attr = ".".join(callee.split(".")[:2])
            fn = module.function(scope)
            class_name = fn.class_name if fn else ""
            for fact in module.assignments_to(attr) if class_name else ():
                if fact.scope.startswith(class_name + "."):
                    return fact.value
            return None
        if "." not in callee:
            return None
        fact = self.project.assignment(module, scope, head)
        if fact is not None:
            return fact.value
        found = self.project.resolve_symbol(resolved) if resolved != callee else None
        if found is not None:
            target, name = found
            assigned = self.project.assignment(target, "", name.split(".")[0])
            return assigned.value if assigned else None
        return None

    def paid_service(self, module: ModuleSummary, call: CallFact) -> str | None:
        label = self._sdk(call.name)
        if label:
            return label
        for value in (*call.args, *(v for _, v in call.keywords)):
            if value.kind == "const" and isinstance(value.const, str):
                for host, service in PAID_HOSTS.items():
                    if host in value.const:
                        return service
        if not self._paid_clients_assigned:
            return None  # no receiver can have been made by a paid SDK
        value = self._receiver_value(module, call.scope, call.callee, call.name)
        if value is not None and value.kind == "await" and value.items:
            value = value.items[0]
        if value is not None and value.kind == "call":
            return self._sdk(value.name)
        return None

    @cached_property
    def _paid_clients_assigned(self) -> bool:
        """Whether any assignment of the project binds what a paid SDK's call returns (the
        only values _receiver_value can find): most projects have none, and then looking
        up the receiver of every call is wasted."""
        for module in self.project.modules.values():
            for fact in module.assignments:
                value = fact.value
                if value is not None and value.kind == "await" and value.items:
                    value = value.items[0]
                if value is not None and value.kind == "call" and self._sdk(value.name):
                    return True
        return False

    @cached_property
    def paid_calls(self) -> dict[str, PaidCall]:
        """Function key -> its first call to a paid API."""
        found: dict[str, PaidCall] = {}
        for module in self.project.summaries("source"):
            for call in module.calls:
                if not call.scope:
                    continue
                key = f"{module.module}:{call.scope}"
                if key in found or key not in self.project.callgraph.nodes:
                    continue
                service = self.paid_service(module, call)
                if service:
                    found[key] = PaidCall(key, service, Location(module.path, call.line), call.callee)
        return found

    def reaches_paid_api(self, key: str, label: str) -> tuple[PaidCall, tuple[Edge, ...]] | None:
        paid = self.paid_calls
        if not paid:
            return None
        if key in paid:
            return paid[key], ()
        reached = self.project.callgraph.reachable({key: label}, kinds=("call", "thread"), max_depth=6,
                                                   stop_at=paid)
        best = None
        for target, (_, path) in reached.items():
            if target in paid and (best is None or len(path) < len(best[1])):
                best = (paid[target], path)
        return best

    # -- middleware ------------------------------------------------------------------------
    @cached_property
    def auth_middleware(self) -> tuple[AuthMiddleware, ...]:
        found = []
        for module in self.project.summaries("source"):
            for call in module.calls:
                tail = call.callee.rsplit(".", 1)[-1]
                cls = None
                if tail == "add_middleware" and call.args or call.name.rsplit(".", 1)[-1] == "Middleware" and call.args and "starlette" in call.name:
                    cls = call.args[0]
                if cls is not None and cls.kind in ("name", "attr"):
                    name = cls.text.rsplit(".", 1)[-1]
                    if AUTH_MIDDLEWARE_CLASS.search(name) and not NOT_AUTH_MIDDLEWARE.search(name):
                        found.append(AuthMiddleware(Location(module.path, call.line),
                                                    f"{name} added as middleware"))
            for fn in module.functions:
                if not any(d.kind == "call" and d.text.split("(")[0].endswith(".middleware") for d in fn.decorators):
                    continue
                key = f"{module.module}:{fn.qualname}"
                hit = self.inline_auth(key, depth=1)
                if hit is not None:
                    found.append(AuthMiddleware(Location(module.path, fn.def_line or fn.line),
                                                f"HTTP middleware {fn.name}() {hit[1]} ({hit[0]})"))
        return tuple(found)

    # -- settings ---------------------------------------------------------------------------
    def is_settings_class(self, module: ModuleSummary, cls: ClassFact, depth: int = 0) -> bool:
        if depth > 5:
            return False
        graph = self.project.callgraph
        for base in cls.bases:
            if BASE_SETTINGS.search(base.name or base.text):
                return True
            found = graph.class_from_name(module, base.text, base.name) if base.kind in ("name", "attr") else None
            if found is not None and found[1] is not cls and self.is_settings_class(found[0], found[1], depth + 1):
                return True
        return False

    @cached_property
    def settings_fields(self) -> tuple[SettingsField, ...]:
        """Fields of pydantic BaseSettings classes, with their literal defaults."""
        out = []
        for module in self.project.summaries("source"):
            for cls in module.classes:
                if not self.is_settings_class(module, cls):
                    continue
                for fact in module.assignments:
                    if fact.scope != cls.qualname or "." in fact.target or fact.target.startswith("model_config"):
                        continue
                    default, env_default = unwrap_default(fact.value)
                    out.append(SettingsField(module, cls, fact, default, env_default))
        return tuple(out)

    def field_validated(self, field: SettingsField) -> bool:
        """A validator of the class names the field (or all fields), or an Annotated
        validator is attached to it."""
        if field.fact.annotation is not None and any(
                part.kind == "call" and part.name.rsplit(".", 1)[-1].endswith("Validator")
                for part in field.fact.annotation.walk()):
            return True
        for fn in field.module.functions:
            if fn.class_name != field.cls.qualname:
                continue
            for deco in fn.decorators:
                kind = deco.name.rsplit(".", 1)[-1] if deco.kind == "call" else deco.text.rsplit(".", 1)[-1]
                if kind in ("model_validator", "root_validator"):
                    if any(re.search(rf"\b{re.escape(field.fact.target)}\b", self.project.line(field.module.path, line))
                           for line in range(fn.def_line or fn.line, fn.end_line + 1)):
                        return True
                elif kind in ("field_validator", "validator"):
                    names = {a.const for a in deco.items if a.kind == "const"}
                    if field.fact.target in names or "*" in names:
                        return True
        return False

    def setting_literal(self, value: Value | None, module: ModuleSummary, scope: str = "", depth: int = 0):
        """The literal a simple expression stands for: a constant or list of constants, a
        module constant (also imported), an os.getenv default, or the default of a settings
        field read through an instance (`settings.cors_origins`). None when unknown."""
        if value is None or depth > 6:
            return None
        literal = literal_of(value)
        if literal is not _UNKNOWN:
            return literal
        if value.kind == "call" and value.name in ENV_GET and len(value.items) > 1:
            return self.setting_literal(value.items[1], module, scope, depth + 1)
        if value.kind == "name":
            fact = self.project.assignment(module, scope, value.text)
            if fact is not None and fact.value is not None and fact.value is not value:
                return self.setting_literal(fact.value, module, "", depth + 1)
            if value.name != value.text:
                found = self.project.resolve_symbol(value.name)
                if found is not None:
                    target = self.project.assignment(found[0], "", found[1])
                    if target is not None and target.value is not None:
                        return self.setting_literal(target.value, found[0], "", depth + 1)
            return None
        resolved = self.project.constant(value, module)
        if resolved is not None:
            return resolved
        if value.kind != "attr" or value.text.count(".") != 1:
            return None
        owner, attr = value.text.split(".")
        owner_resolved = value.name.rsplit(".", 1)[0]
        cls = self._instance_class(module, owner, owner_resolved) or \
            self.project.callgraph.class_from_name(module, owner, owner_resolved)
        if cls is None:
            return None
        for fact in cls[0].assignments:
            if fact.scope == cls[1].qualname and fact.target == attr:
                default, _ = unwrap_default(fact.value)
                return self.setting_literal(default, cls[0], "", depth + 1)
        return None

    def _instance_class(self, module: ModuleSummary, written: str, resolved: str):
        graph = self.project.callgraph
        fact = self.project.assignment(module, "", written)
        where = module
        if fact is None and resolved and resolved != written:
            found = self.project.resolve_symbol(resolved)
            if found is not None:
                where, name = found
                fact = self.project.assignment(where, "", name)
        if fact is None or fact.value is None or fact.value.kind != "call":
            return None
        call = fact.value
        found = graph.class_from_name(where, call.text.split("(")[0], call.name)
        if found is not None:
            return found
        # settings = get_settings(), where get_settings() returns Settings()
        fn = where.function(call.text.split("(")[0]) if "." not in call.text.split("(")[0] else None
        if fn is not None:
            for returned in fn.return_values:
                if returned is not None and returned.kind == "call":
                    return graph.class_from_name(where, returned.text.split("(")[0], returned.name)
        return None

    # -- what works ---------------------------------------------------------------------------
    def good_practices(self) -> tuple[GoodPractice, ...]:
        """Positive facts with evidence: slow password hashing, constant-time comparisons,
        restricted CORS, JWT decoded with pinned algorithms, SQL only parameterised."""
        found: dict[str, list[Location]] = {}
        for module in self.project.summaries("source"):
            for call in module.calls:
                where = Location(module.path, call.line)
                if call.name.startswith(SLOW_HASHES):
                    found.setdefault("password-hashing", []).append(where)
                elif call.name in ("hmac.compare_digest", "secrets.compare_digest"):
                    found.setdefault("constant-time-compare", []).append(where)
                elif call.name in ("jwt.decode", "jose.jwt.decode") and not call.has_star_args:
                    key = "jwt" if call.keyword("algorithms") is not None or len(call.args) > 2 else "jwt-unpinned"
                    found.setdefault(key, []).append(where)
                elif call.callee.rsplit(".", 1)[-1] == "add_middleware" and call.args and \
                        call.args[0].text.rsplit(".", 1)[-1] == "CORSMiddleware":
                    origins = self.setting_literal(call.keyword("allow_origins"), module, call.scope)
                    if isinstance(origins, list) and "*" not in origins and not call.keyword("allow_origin_regex"):
                        found.setdefault("cors", []).append(where)
        out = []
        if found.get("password-hashing"):
            out.append(GoodPractice("password-hashing", "passwords hashed with a slow, salted hash "
                                    "(bcrypt/argon2/scrypt/PBKDF2)", tuple(found["password-hashing"][:5])))
        if found.get("constant-time-compare"):
            out.append(GoodPractice("constant-time-compare", "secrets compared with compare_digest",
                                    tuple(found["constant-time-compare"][:5])))
        if found.get("jwt") and not found.get("jwt-unpinned"):
            out.append(GoodPractice("jwt", f"every jwt.decode pins its algorithms ({_count(found['jwt'], 'call')})",
                                    tuple(found["jwt"][:5])))
        if found.get("cors"):
            out.append(GoodPractice("cors", "CORS restricted to listed origins", tuple(found["cors"][:5])))
        executed = [(m, b) for m, b in self.sql_builds() if b.sink_line]
        if executed and all(b.safe for _, b in executed):
            out.append(GoodPractice("sql", f"no string-built SQL with request values reaches execute() "
                                           f"({_count(executed, 'built query', 'built queries')} use only constants or allow-lists)",
                                    tuple(Location(m.path, b.line) for m, b in executed[:5])))
        return tuple(out)

    # -- per-module facts, for convenience ---------------------------------------------------
    def credential_urls(self) -> list[tuple[ModuleSummary, CredentialUrl]]:
        return [(m, f) for m in self.project.summaries("source") for f in m.facts_of(CredentialUrl)]

    def sql_builds(self) -> list[tuple[ModuleSummary, SqlBuild]]:
        return [(m, f) for m in self.project.summaries("source") for f in m.facts_of(SqlBuild)]


def _count(items, one: str, many: str = "") -> str:
    return f"{len(items)} {one if len(items) == 1 else (many or one + 's')}"


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN = _Unknown()


def literal_of(value: Value | None):
    """A Python literal from a Value: constants, and lists/tuples/sets of constants."""
    if value is None:
        return _UNKNOWN
    if value.kind == "const":
        return value.const
    if value.kind in ("list", "tuple", "set"):
        items = [literal_of(item) for item in value.items]
        if any(item is _UNKNOWN for item in items):
            return _UNKNOWN
        return items
    return _UNKNOWN


def unwrap_default(value: Value | None) -> tuple[Value | None, bool]:
    """The default of a field as written: `Field(default=x)`, `Field(x)`, `os.getenv("X", x)`."""
    if value is None:
        return None, False
    if value.kind == "call" and (value.name in FIELD_CALLS or value.name.rsplit(".", 1)[-1] == "Field"):
        inner = value.keyword("default") or (value.items[0] if value.items else None)
        if inner is None or (inner.kind == "const" and inner.const is Ellipsis):
            return None, False
        return unwrap_default(inner)
    if value.kind == "call" and value.name in ENV_GET and len(value.items) > 1:
        return value.items[1], True
    if value.kind == "call" and value.name in ENV_GET:
        default = value.keyword("default")
        return (default, True) if default is not None else (None, False)
    return value, False


def build_security(project) -> SecurityModel:
    return SecurityModel(project)
