from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.values import Value
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.security.endpoints import STATE_CHANGING
from prodaudit.rules.security.names import words

BASE_MODELS = re.compile(r"(^|\.)(BaseModel|SQLModel|RootModel)$")
# Annotations bounded by their own validation (EmailStr <= 254 chars, URLs <= 2083).
BOUNDED_TYPES = re.compile(r"(EmailStr|NameEmail|HttpUrl|AnyUrl|AnyHttpUrl|PostgresDsn|RedisDsn|UUID\d?|"
                           r"Literal\[|IPv4Address|IPv6Address|IPvAnyAddress|constr\(.*max_length|"
                           r"conlist\(.*max_(length|items)|conbytes\(.*max_length|conset\(.*max_(length|items)|"
                           r"StringConstraints\(.*max_length|Field\(.*max_(length|items)|MaxLen\(|Len\()")
UNBOUNDED = re.compile(r"^(Optional\[)?(str|bytes|list|List|dict|Dict|set|Set|Sequence|SecretStr|Json)\b|"
                       r"\|\s*(str|bytes)\b|^(str|bytes)\s*\|")
LENGTH_KEYWORDS = ("max_length", "max_items", "max_len")
DECODERS = frozenset({"base64.b64decode", "base64.urlsafe_b64decode", "base64.decodebytes", "base64.standard_b64decode",
                      "json.loads", "orjson.loads", "ujson.loads", "pickle.loads", "yaml.safe_load"})
UPLOAD_TYPES = re.compile(r"(^|\.)UploadFile\b")
# Middleware that caps the request body for every endpoint.
SIZE_MIDDLEWARE = re.compile(r"(size|content_?length|body_?limit|max_?body|request_?limit)", re.IGNORECASE)
# A size compared with a bound, a bounded read, or a named limit near the use.
SIZE_CHECK = re.compile(r"(\blen\([^)]*\)\s*[<>]|[<>]=?\s*len\(|\.size\b|content[-_]length|max_?(size|bytes|length)|"
                        r"MAX_\w+|\.read\(\s*\w)", re.IGNORECASE)


@dataclass
class ModelUse:
    module: object
    cls: object
    endpoints: list = field(default_factory=list)
    paid: object = None


@register
class UnboundedInput(ProjectRule):
    """
    ## What it does
    Finds request input with no size bound: pydantic request-body models with `str`,
    `bytes`, `list` or `dict` fields that have no `max_length`/`max_items`
    (`Field(max_length=...)`, `constr`, `conlist`, `StringConstraints`); `UploadFile`
    parameters read with no size check; and `base64`/JSON decoding of a request value with
    no length check before it. A middleware that caps the request body silences the rule.

    ## Why is this bad?
    The server parses and holds whatever the client sends: a 50 MB string in a chat
    message is decoded, validated, stored and perhaps sent to a paid LLM, per request.
    A few such requests exhaust memory or the API budget.

    ## Example
    ```python
    from fastapi import FastAPI
    from pydantic import BaseModel

    app = FastAPI()


    class ChatRequest(BaseModel):
        message: str


    @app.post("/chat")
    async def chat(body: ChatRequest):
        return {"echo": body.message}
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from pydantic import BaseModel, Field

    app = FastAPI()


    class ChatRequest(BaseModel):
        message: str = Field(max_length=4000)


    @app.post("/chat")
    async def chat(body: ChatRequest):
        return {"echo": body.message}
    ```

    ## Known limitations
    Limits set in a reverse proxy (nginx `client_max_body_size`) are not seen. A size check
    is recognised by `len(...)`, `.size`, a bounded `.read(n)` or a MAX_ constant near the
    use; anything subtler is missed and reported.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA410", slug="unbounded-input", family="security", dimension=Dimension.SECURITY,
        severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="request fields, uploads or decoded payloads without a size limit",
        effort_minutes=10, cwe=(770, 400), owasp=("API4:2023", "A04:2021"), technology=("fastapi", "pydantic"),
        fix="Bound every request string and list (Field(max_length=...), conlist(max_length=...)) and "
            "check upload and payload sizes before reading or decoding them.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        if self.size_middleware(project) is not None:
            return
        yield from self.body_models(project)
        yield from self.uploads(project)
        yield from self.decodes(project)

    # -- request models ----------------------------------------------------------------
    def body_models(self, project) -> Iterator[Finding]:
        graph = project.callgraph
        uses: dict[tuple[str, str], ModelUse] = {}
        for endpoint in project.routes.endpoints:
            if endpoint.method not in STATE_CHANGING or endpoint.handler is None:
                continue
            node = graph.nodes.get(endpoint.handler.key)
            if node is None:
                continue
            for param in node.fact.params:
                if _is_dependency(param.default):
                    continue
                for module, cls in self.models_in(project, node.module, param.annotation):
                    use = uses.setdefault((module.path, cls.qualname), ModelUse(module, cls))
                    use.endpoints.append(endpoint)
                    if use.paid is None:
                        use.paid = project.security.reaches_paid_api(endpoint.handler.key, endpoint.label)
        for (path, qualname), use in sorted(uses.items()):
            fields = self.unbounded_fields(project, use.module, use.cls)
            if not fields:
                continue
            labels = ", ".join(e.label for e in use.endpoints[:2]) + (" ..." if len(use.endpoints) > 2 else "")
            shown = ", ".join(f"{name}: {kind}" for name, kind, _ in fields[:5]) + (" ..." if len(fields) > 5 else "")
            evidence = [Evidence(Location(path, line), f"{name}: {kind} has no max length") for name, kind, line in fields[:5]]
            evidence += [Evidence(e.location, f"request body of {e.label}") for e in use.endpoints[:2]]
            severity = Severity.LOW
            extra = ""
            if use.paid is not None:
                call, _ = use.paid
                severity = Severity.MEDIUM
                extra = f", and the request reaches the paid {call.service} API"
                evidence.append(Evidence(call.location, f"{call.service} called here"))
            yield self.finding(
                f"Request model `{use.cls.name}` (body of {labels}) has unbounded fields ({shown}): a client can "
                f"send megabytes per field{extra}",
                Location(path, use.cls.line), severity=severity, evidence=evidence,
                anchor=f"{use.module.module}:{qualname}")

    def models_in(self, project, module, annotation: Value | None) -> list:
        """Project pydantic models named in an annotation (`Body`, `list[Item]`, `Body | None`)."""
        if annotation is None:
            return []
        found = []
        for part in annotation.walk():
            if part.kind not in ("name", "attr"):
                continue
            cls = project.callgraph.class_from_name(module, part.text, part.name)
            if cls is not None and self.is_model(project, *cls):
                found.append(cls)
        return found

    def is_model(self, project, module, cls, depth: int = 0) -> bool:
        if depth > 5:
            return False
        for base in cls.bases:
            if BASE_MODELS.search(base.name or base.text):
                return True
            found = project.callgraph.class_from_name(module, base.text, base.name) if base.kind in ("name", "attr") else None
            if found is not None and found[1] is not cls and self.is_model(project, *found, depth + 1):
                return True
        return False

    def unbounded_fields(self, project, module, cls) -> list[tuple[str, str, int]]:
        config = next((f.value for f in module.assignments if f.scope == cls.qualname and f.target == "model_config"),
                      None)
        str_capped = config is not None and "str_max_length" in config.text
        out = []
        for fact in module.assignments:
            if fact.scope != cls.qualname or fact.annotation is None or fact.target.startswith("model_"):
                continue
            annotation = fact.annotation.text
            if annotation.startswith("ClassVar") or BOUNDED_TYPES.search(annotation):
                continue
            match = UNBOUNDED.search(annotation.replace("Annotated[", ""))
            if match is None:
                continue
            value = fact.value
            if value is not None and value.kind == "call" and any(value.keyword(k) for k in LENGTH_KEYWORDS):
                continue
            if value is not None and value.kind == "call" and _bounded_pattern(value.keyword("pattern")
                                                                               or value.keyword("regex")):
                continue
            if value is not None and BOUNDED_TYPES.search(value.text):
                continue
            is_text = bool(re.search(r"\b(str|bytes|SecretStr)\b", annotation)) and not re.search(
                r"\b(list|List|dict|Dict|set|Set|Sequence)\b", annotation)
            if is_text and str_capped:
                continue
            kind = annotation if len(annotation) <= 24 else annotation[:21] + "..."
            out.append((fact.target, kind, fact.line))
        return out

    # -- uploads and decoding -------------------------------------------------------------
    def uploads(self, project) -> Iterator[Finding]:
        graph = project.callgraph
        seen = set()
        for endpoint in project.routes.endpoints:
            if endpoint.handler is None or endpoint.handler.key in seen:
                continue
            node = graph.nodes.get(endpoint.handler.key)
            if node is None:
                continue
            params = [p.name for p in node.fact.params if p.annotation is not None
                      and UPLOAD_TYPES.search(p.annotation.text)]
            if not params:
                continue
            seen.add(endpoint.handler.key)
            if self.size_checked(project, endpoint.handler.key, params):
                continue
            yield self.finding(
                f"Upload `{params[0]}` of {endpoint.label} is accepted with no size check: one request can fill "
                f"the disk or memory",
                node.location, anchor=f"{endpoint.handler.key}:upload",
                evidence=[Evidence(endpoint.location, f"{endpoint.label} takes an UploadFile")])

    def decodes(self, project) -> Iterator[Finding]:
        graph = project.callgraph
        entries = {key: label for key, label in project.entry_points.items()
                   if label.split(" ", 1)[0] in ("GET", "POST", "PUT", "PATCH", "DELETE")}
        reached = graph.reachable(entries, max_depth=3)
        for key, (label, path) in sorted(reached.items()):
            node = graph.nodes.get(key)
            if node is None:
                continue
            params = {p.name for p in node.fact.params} - {"self", "cls"}
            for call in project.security.calls_in(key):
                if call.name not in DECODERS or not call.args:
                    continue
                argument = call.args[0]
                root = argument.text.split(".")[0].split("(")[0]
                if root not in params or argument.kind not in ("name", "attr"):
                    continue
                if self.size_checked(project, key, [root], before=call.line):
                    continue
                yield self.finding(
                    f"{call.callee}({argument.text}) decodes request data ({label}) with no length check "
                    f"before it: the whole payload is decoded in memory whatever its size",
                    Location(node.module.path, call.line), anchor=f"{key}:{call.callee}",
                    evidence=[Evidence(node.location, f"reached from {graph.describe_path(label, path)}")])

    @staticmethod
    def size_checked(project, key: str, names: list[str], before: int = 0) -> bool:
        node = project.callgraph.nodes.get(key)
        if node is None:
            return True
        last = min(before - 1, node.fact.end_line) if before else node.fact.end_line
        text = "\n".join(project.line(node.module.path, n)
                         for n in range(node.fact.def_line or node.fact.line, last + 1))
        if SIZE_CHECK.search(text):
            return True
        return any(set(words(c.callee.rsplit(".", 1)[-1])) & {"size", "limit", "validate", "check"}
                   for c in project.security.calls_in(key) if not before or c.line < before)

    @staticmethod
    def size_middleware(project) -> Location | None:
        for module in project.summaries("source"):
            for call in module.calls:
                if call.callee.rsplit(".", 1)[-1] == "add_middleware" and call.args and \
                        SIZE_MIDDLEWARE.search(call.args[0].text):
                    return Location(module.path, call.line)
        return None


def _bounded_pattern(pattern: Value | None) -> bool:
    """An anchored pattern with no open-ended repetition (`^\\d{10}(\\d{3})?$`) bounds the length."""
    if pattern is None or pattern.kind != "const" or not isinstance(pattern.const, str):
        return False
    text = pattern.const
    return text.startswith("^") and text.endswith("$") and not re.search(r"(?<!\\)[*+]|\{\d*,\}", text)


def _is_dependency(default: Value | None) -> bool:
    return default is not None and default.kind == "call" and default.name.rsplit(".", 1)[-1] in (
        "Depends", "Security", "Query", "Path", "Header", "Cookie", "File", "Form")
