"""Health endpoints: which URLs are health probes, and what shape their answers have.

A health URL is a health word (health, healthz, ready, live, status...) right after
optional `/api`, version and internal/public prefixes; deeper paths like
/admin/system/health are dashboards, not probes. The shape of an answer is read from the
handler's literal return values: JSON keys and the literal values each key takes,
response classes and their status codes, project response models, one level of helper
functions (`_health_response("ok", 200)`), and whether the handler does any work
(awaits, calls beyond building the answer) or always answers the same constant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A health URL: optional API/version prefixes, then a health word first. Deeper paths like
# /admin/system/health are dashboards, not probes, and are left out.
HEALTH_URL = re.compile(
    r"^(?:/api)?(?:/v\d+(?:\.\d+)?)?(?:/internal|/public)?"
    r"/(?P<word>health|healthz|healthcheck|health-check|health_check|ready|readyz|readiness|"
    r"live|livez|liveness|status)(?P<rest>/.*)?$")
WORD = {"healthz": "health", "healthcheck": "health", "health-check": "health",
        "health_check": "health", "readyz": "ready", "readiness": "ready", "livez": "live",
        "liveness": "live"}
RESPONSE_CLASSES = {"JSONResponse", "ORJSONResponse", "UJSONResponse", "Response",
                    "PlainTextResponse"}
# Calls that only build or log the answer; anything else is the endpoint doing work.
TRIVIAL_CALLS = RESPONSE_CLASSES | {
    "dict", "str", "int", "float", "bool", "len", "isoformat", "now", "utcnow", "time",
    "monotonic", "perf_counter", "getLogger", "debug", "info", "warning", "error",
    "exception", "HTTPException", "round", "timestamp", "today"}
STATUS_CODE = re.compile(r"(?<!\d)([1-5]\d\d)(?!\d)")


@dataclass(frozen=True)
class HealthShape:
    keys: frozenset[str] | None  # top-level keys of the JSON body; None when unknown
    values: tuple[tuple[str, frozenset[str]], ...]  # key -> literal values it takes
    model: str  # response model class, "" when none or unknown
    probes: bool  # the handler calls something beyond building the answer
    constant: bool  # literal answers only, no calls, no awaits
    codes: frozenset[int]

    def value_of(self, key: str) -> frozenset[str] | None:
        for name, values in self.values:
            if name == key:
                return values
        return None

    def describe(self) -> str:
        body = ("{" + ", ".join(f'"{k}"' for k in sorted(self.keys)) + "}") if self.keys is not None \
            else (self.model or "an unknown body")
        work = "checks its dependencies" if self.probes else (
            "always returns a constant" if self.constant else "")
        codes = f", status {'/'.join(str(c) for c in sorted(self.codes))}" if self.codes else ""
        return f"returns {body}{codes}" + (f"; {work}" if work else "")


def concept(url: str) -> str | None:
    match = HEALTH_URL.match(url.rstrip("/") or "/")
    if match is None:
        return None
    word = match.group("word")
    rest = (match.group("rest") or "").rstrip("/")
    if word == "status" and rest:
        return None  # /status/{job_id} and the like are not health probes
    return WORD.get(word, word) + rest


class ShapeReader:
    def __init__(self, project):
        self.project = project

    def shape(self, endpoint) -> HealthShape | None:
        found = self.project.function(f"{endpoint.handler.module}.{endpoint.handler.qualname}")
        if found is None:
            return None
        module, fn = found
        keys: set[str] | None = set()
        values: dict[str, set[str]] = {}
        codes: set[int] = set()
        model = ""
        literal = True
        for value in fn.return_values:
            got = self.body(value, module, {}, depth=0)
            if got is None:
                keys, literal = None, False
                continue
            body_keys, body_values, body_codes, body_model, body_literal = got
            codes |= body_codes
            model = model or body_model
            literal = literal and body_literal
            if keys is not None:
                keys |= body_keys
            for key, seen in body_values.items():
                values.setdefault(key, set()).update(seen)
        for call in module.calls:
            if call.scope != fn.qualname:
                continue
            if call.name.rsplit(".", 1)[-1] == "HTTPException" or call.callee.endswith("HTTPException"):
                code = self.status_code(call.keyword("status_code") or (call.args[0] if call.args else None))
                if code:
                    codes.add(code)
        probes = fn.await_count > 0 or any(
            self.is_work(call, module) for call in module.calls if call.scope == fn.qualname)
        if not fn.return_values:
            keys, literal = None, False
        if keys is not None and not keys and not model:
            keys = None
        return HealthShape(frozenset(keys) if keys is not None else None,
                           tuple(sorted((k, frozenset(v)) for k, v in values.items())),
                           model, probes, literal and not probes, frozenset(codes))

    def is_work(self, call, module) -> bool:
        tail = call.callee.rsplit(".", 1)[-1]
        if tail in TRIVIAL_CALLS:
            return False
        helper = self.project.function(call.name) if call.name != call.callee or "." in call.name else None
        if helper is None and "." not in call.callee:
            local = module.function(call.callee)
            helper = (module, local) if local else None
        if helper is not None and not helper[1].is_async and helper[1].await_count == 0:
            # A helper that only builds the response (`_health_response("ok", 200)`).
            return any(self.is_work(inner, helper[0]) for inner in helper[0].calls
                       if inner.scope == helper[1].qualname)
        return True

    def status_code(self, value) -> int | None:
        if value is None:
            return None
        if value.kind == "const" and isinstance(value.const, int):
            return value.const
        match = STATUS_CODE.search(value.text) if value.kind in ("attr", "name") else None
        return int(match.group(1)) if match else None

    def body(self, value, module, bound: dict, depth: int):
        """(keys, key -> literal values, status codes, model, literal?) of one returned
        expression; None when its shape cannot be read."""
        if value is None:
            return None
        if value.kind == "name" and value.text in bound:
            return self.body(bound[value.text], module, {}, depth)
        if value.kind == "dict":
            keys, values, literal = set(), {}, True
            for key, item in value.keywords:
                if key == "**":
                    return None
                keys.add(key)
                item = bound.get(item.text, item) if item.kind == "name" else item
                if item.kind == "const":
                    values.setdefault(key, set()).add(str(item.const))
                else:
                    literal = False
            return keys, values, set(), "", literal
        if value.kind != "call" or depth > 2:
            return None
        tail = value.name.rsplit(".", 1)[-1]
        if tail in RESPONSE_CLASSES:
            content = value.keyword("content") or value.arg(0)
            code = self.status_code(bound.get(value.keyword("status_code").text, value.keyword("status_code"))
                                    if value.keyword("status_code") is not None else None)
            inner = self.body(content, module, bound, depth) if content is not None else None
            if inner is None:
                return None
            keys, values, codes, model, literal = inner
            return keys, values, codes | ({code} if code else set()), model, literal
        helper = self.project.function(value.name) if "." in value.name else None
        if helper is None:
            local = module.function(value.text.split("(")[0])
            helper = (module, local) if local else None
        if helper is not None:
            target_module, fn = helper
            params = [p.name for p in fn.params if p.kind in ("posonly", "arg")]
            args = dict(zip(params, value.items))
            args.update({k: v for k, v in value.keywords if k != "**"})
            shapes = [self.body(rv, target_module, args, depth + 1) for rv in fn.return_values]
            if not shapes or any(s is None for s in shapes):
                return None
            keys, values, codes, literal = set(), {}, set(), True
            for s_keys, s_values, s_codes, _, s_literal in shapes:
                keys |= s_keys
                codes |= s_codes
                literal = literal and s_literal
                for key, seen in s_values.items():
                    values.setdefault(key, set()).update(seen)
            return keys, values, codes, "", literal
        found = self.project.resolve_symbol(value.name) if "." in value.name else None
        cls = self.project.class_named(found[0], found[1]) if found else (
            self.project.class_named(module, value.text.split("(")[0]))
        if cls is not None:
            keys = {k for k, _ in value.keywords if k != "**"}
            values = {k: {str(v.const)} for k, v in value.keywords if v.kind == "const"}
            return keys, values, set(), cls.name, all(v.kind == "const" for _, v in value.keywords)
        return None
