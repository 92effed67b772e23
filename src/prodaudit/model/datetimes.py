"""Is a datetime expression timezone-aware or naive? Judged from the code, across files.

`datetime.now(UTC)`, `now(tz=...)`, `fromtimestamp(ts, tz)`, `.astimezone()` are aware;
`utcnow()`, `now()`, `today()`, `utcfromtimestamp()` are naive. Local variables (the last
assignment in the function), `+`/`-` with a timedelta, the arguments every known caller
passes for a parameter, and the return values of project functions are followed up to
MAX_HOPS steps. Anything else (settings, libraries, database-side `func.now()`) is unknown
(None): a rule must not guess.
"""

from __future__ import annotations

import re

from prodaudit.findings import Location
from prodaudit.model.extractors.datetime_values import LocalValue

AWARE, NAIVE = "aware", "naive"
MAX_HOPS = 3
# Text of expressions the Value model keeps as "other" (lambdas): the common spellings.
AWARE_TEXT = re.compile(r"\.now\(\s*(tz\s*=\s*)?[\w.]+|\.now\([^)]*(utc|UTC|timezone|ZoneInfo|tz)")
NAIVE_TEXT = re.compile(r"\.utcnow\(|\.now\(\s*\)|\.today\(\s*\)|\.utcfromtimestamp\(")


def _call_tail(value) -> str:
    name = value.name or value.text.split("(")[0]
    return name.rsplit(".", 1)[-1] if name else ""


def _is_datetime_call(value, method: str) -> bool:
    name = value.name or value.text.split("(")[0]
    return name.endswith(f"datetime.{method}") or name == method and "datetime" in value.text


class DatetimeJudge:
    def __init__(self, project):
        self.project = project

    def callable_kind(self, module, value) -> tuple[str | None, Location | None]:
        """A column default: a callable (`datetime.utcnow`, a helper, a lambda) or a value."""
        if value.kind in ("name", "attr"):
            name = value.name or value.text
            if name.endswith(("datetime.utcnow", "datetime.now", "datetime.today")):
                return NAIVE, None
            found = self.project.function(name) if "." in name else None
            if found is None and "." not in name:
                fn = module.function(name)
                found = (module, fn) if fn else None
            if found is not None:
                return self.returns_kind(found[0], found[1], 1)
            return None, None
        if value.kind == "other" and value.text.startswith("lambda"):
            return self.text_kind(value.text), None
        return self.kind_of(module, "", value, 0)

    @staticmethod
    def text_kind(text: str) -> str | None:
        if NAIVE_TEXT.search(text):
            return NAIVE
        if AWARE_TEXT.search(text):
            return AWARE
        return None

    def kind_of(self, module, scope: str, value, hops: int) -> tuple[str | None, Location | None]:
        """AWARE / NAIVE / None for an expression, with where that was decided."""
        if value is None or hops > MAX_HOPS:
            return None, None
        here = Location(module.path, value.line) if value.line else None
        if value.kind == "await" and value.items:
            return self.kind_of(module, scope, value.items[0], hops)
        if value.kind == "binop" and value.name in ("Add", "Sub") and value.items:
            for item in value.items:
                kind, origin = self.kind_of(module, scope, item, hops)
                if kind is not None:
                    return kind, origin
            return None, None
        if value.kind == "call":
            return self.call_kind(module, scope, value, hops), here
        if value.kind == "name":
            return self.name_kind(module, scope, value.text, hops)
        if value.kind == "other":
            return self.text_kind(value.text), here
        return None, None

    def call_kind(self, module, scope: str, value, hops: int) -> str | None:
        tail = _call_tail(value)
        tz_keyword = value.keyword("tz") or value.keyword("tzinfo")
        if _is_datetime_call(value, "utcnow") or _is_datetime_call(value, "utcfromtimestamp") \
                or _is_datetime_call(value, "today"):
            return NAIVE
        if _is_datetime_call(value, "now"):
            return AWARE if value.items or tz_keyword is not None else NAIVE
        if _is_datetime_call(value, "fromtimestamp"):
            return AWARE if len(value.items) > 1 or tz_keyword is not None else NAIVE
        if _is_datetime_call(value, "combine"):
            return AWARE if len(value.items) > 2 or tz_keyword is not None else None
        if tail == "astimezone":
            return AWARE
        if tail == "replace" and tz_keyword is not None:
            return NAIVE if tz_keyword.kind == "const" and tz_keyword.const is None else AWARE
        found = self.project.function(value.name) if value.name and "." in value.name else None
        if found is None and "." not in value.text.split("(")[0]:
            fn = module.function(value.text.split("(")[0])
            found = (module, fn) if fn else None
        if found is not None:
            return self.returns_kind(found[0], found[1], hops + 1)[0]
        return None

    def returns_kind(self, module, fn, hops: int) -> tuple[str | None, Location | None]:
        kinds = {self.kind_of(module, fn.qualname, v, hops) for v in fn.return_values if v is not None}
        found = {k for k, _ in kinds if k is not None}
        if len(found) == 1 and all(k is not None for k, _ in kinds):
            kind = found.pop()
            origin = next((o for k, o in kinds if k == kind), None)
            return kind, origin
        return None, None

    def name_kind(self, module, scope: str, name: str, hops: int) -> tuple[str | None, Location | None]:
        local = None
        for fact in [*module.assignments, *module.facts_of(LocalValue)]:
            if fact.scope == scope and fact.target == name and (local is None or fact.line >= local.line):
                local = fact  # the last assignment in the function
        if local is not None:
            return self.kind_of(module, scope, local.value, hops + 1)
        fn = module.function(scope) if scope else None
        if fn is None or name not in [p.name for p in fn.params]:
            return None, None
        return self.argument_kind(module, fn, name, hops + 1)

    def argument_kind(self, module, fn, name: str, hops: int) -> tuple[str | None, Location | None]:
        """What callers pass for parameter `name`: one kind when all known callers agree."""
        graph = self.project.callgraph
        key = f"{module.module}:{fn.qualname}"
        positional = [p.name for p in fn.params if p.kind in ("posonly", "arg")]
        if positional and positional[0] in ("self", "cls"):
            positional = positional[1:]
        index = positional.index(name) if name in positional else None
        kinds = set()
        origin = None
        for edge in graph.callers(key):
            caller_key = edge.caller
            caller = graph.nodes.get(caller_key)
            if caller is None:
                continue
            call = next((c for c in caller.module.calls if c.line == edge.line
                         and c.callee.rsplit(".", 1)[-1] == fn.name), None)
            if call is None:
                continue
            value = call.keyword(name)
            if value is None and index is not None and index < len(call.args):
                value = call.args[index]
            if value is None:
                continue
            kind, where = self.kind_of(caller.module, caller.fact.qualname, value, hops)
            kinds.add(kind)
            origin = origin or where or edge.location
        if len(kinds) == 1 and None not in kinds:
            return kinds.pop(), origin
        return None, None
