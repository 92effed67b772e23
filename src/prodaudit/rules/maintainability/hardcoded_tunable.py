from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.facts import CallFact, FunctionFact, ModuleSummary
from prodaudit.model.values import Value
from prodaudit.rules.base import ProjectRule, RuleMeta, register

SLEEP_CALLS = frozenset({"asyncio.sleep", "time.sleep", "trio.sleep", "anyio.sleep"})
TIMEOUT_KEYWORDS = frozenset({
    "timeout", "connect_timeout", "read_timeout", "write_timeout", "pool_timeout",
    "socket_timeout", "socket_connect_timeout", "command_timeout", "request_timeout",
})
RETRY_KEYWORDS = frozenset({"max_retries", "retries", "attempts", "max_attempts", "retry_count",
                            "max_tries", "tries"})
LIMIT_PARAMETERS = frozenset({"limit", "page_size", "per_page", "batch_size", "chunk_size", "max_items"})
# Modules whose job is to hold settings: a literal there IS the fix.
CONFIG_MODULE_NAMES = frozenset({"settings", "config", "conf", "configuration", "constants", "const",
                                 "defaults", "consts"})
# Directories of one-off tooling where a literal is as good as a flag.
SCRIPT_DIRS = frozenset({"scripts", "tools", "bin", "examples", "benchmarks", "bench"})
LOCAL_HOSTS = re.compile(r"^https?://(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\]|example\.(com|org))(?=[:/]|$)",
                         re.IGNORECASE)
URL = re.compile(r"^https?://[\w.-]+", re.IGNORECASE)
MAX_LISTED = 6


@dataclass(frozen=True)
class Tunable:
    text: str  # "timeout=30", "asyncio.sleep(300)", "'https://api.x.com/...'"
    kind: str  # sleep, timeout, retries, host, limit
    line: int


def _number(value: Value | None) -> int | float | None:
    if value is None or not value.is_const or isinstance(value.const, bool):
        return None
    return value.const if isinstance(value.const, int | float) else None


def _url(value: Value) -> str | None:
    """A literal absolute URL naming a real host (or an f-string that starts with one)."""
    text = None
    if value.is_const and isinstance(value.const, str):
        text = value.const
    elif value.kind == "fstring" and value.items and value.items[0].is_const and isinstance(value.items[0].const, str):
        text = value.items[0].const
    if not text or not URL.match(text) or LOCAL_HOSTS.match(text):
        return None
    return text


def _call_tunables(call: CallFact) -> list[Tunable]:
    found: list[Tunable] = []
    if call.name in SLEEP_CALLS and call.args:
        seconds = _number(call.args[0])
        if seconds is not None and seconds > 1:
            found.append(Tunable(f"{call.callee}({seconds})", "sleep", call.line))
    for key, value in call.keywords:
        number = _number(value)
        if key in TIMEOUT_KEYWORDS and number is not None and number > 0:
            found.append(Tunable(f"{key}={number}", "timeout", call.line))
        elif key in RETRY_KEYWORDS and number is not None and number > 1:
            found.append(Tunable(f"{key}={number}", "retries", call.line))
    for value in (*call.args, *(v for _, v in call.keywords)):
        url = _url(value)
        if url:
            shown = url if len(url) <= 60 else url[:57] + "..."
            found.append(Tunable(repr(shown), "host", call.line))
    return found


def _limit_defaults(fn: FunctionFact) -> list[Tunable]:
    return [Tunable(f"{p.name}={_number(p.default)}", "limit", fn.def_line or fn.line)
            for p in fn.params
            if p.name in LIMIT_PARAMETERS and (n := _number(p.default)) is not None and n > 1]


def is_config_module(summary: ModuleSummary) -> bool:
    parts = summary.path.lower().split("/")
    stem = parts[-1].removesuffix(".py")
    return (stem in CONFIG_MODULE_NAMES or stem.endswith(("_settings", "_config"))
            or any(part in CONFIG_MODULE_NAMES for part in parts[:-1]))


def _route_handlers(project) -> set[tuple[str, str]]:
    return {(d.handler.path, d.handler.qualname) for d in project.routes.declarations if d.handler}


@register
class HardcodedTunable(ProjectRule):
    """
    ## What it does
    Lists, per function, the literals that tune runtime behaviour and belong in settings:
    `asyncio.sleep(300)` / `time.sleep(5)` over a second, `timeout=30` and
    `max_retries=5` / `retries=` / `attempts=` keyword literals in calls, absolute URLs of
    real hosts passed to calls, and `limit=100`-style defaults of functions that are not
    route handlers. One finding per function, naming all its literals.

    ## Why is this bad?
    Timeouts, back-off delays, retry budgets and upstream hosts are what operators need
    to change during an incident, per environment, without a deploy. Scattered in logic,
    the same value differs between call sites and nobody finds all of them (seed 004 7.2).
    Most magic numbers are harmless, so this is a review list, not a defect.

    ## Example
    ```python
    import asyncio

    import httpx


    async def poll_upstream(client: httpx.AsyncClient) -> None:
        while True:
            await client.get("https://api.partner.io/v1/status", timeout=30)
            await asyncio.sleep(300)
    ```

    ## Use instead
    ```python
    import asyncio

    import httpx

    PARTNER_STATUS_URL = "https://api.partner.io/v1/status"
    POLL_INTERVAL_SECONDS = 300
    PARTNER_TIMEOUT_SECONDS = 30


    async def poll_upstream(client: httpx.AsyncClient) -> None:
        while True:
            await client.get(PARTNER_STATUS_URL, timeout=PARTNER_TIMEOUT_SECONDS)
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
    ```

    ## Known limitations
    Module-level constants count as configuration (they are the first step of the fix).
    Settings/config/constants modules, tests, migrations, scripts/ tools/ directories and
    scripts at the repository root (with a `__main__` guard) are not looked at, nor stub
    signatures (protocols, abstract methods); nor are localhost URLs, `sleep(0)`/`sleep(1)`, and literals at
    module level. Literals passed through a variable are not followed.
    """

    meta = RuleMeta(
        id="PA704", slug="hardcoded-tunable", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.INFO, confidence=Confidence.MEDIUM,
        summary="timeouts, sleeps, retry counts, limits and hosts hard-coded in logic",
        effort_minutes=10,
        fix="Move the value to a named module constant or, if operators need to change it, to settings.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        routes = None
        for summary in project.summaries("source"):
            if is_config_module(summary) or any(p in SCRIPT_DIRS for p in summary.path.lower().split("/")[:-1]):
                continue
            if summary.has_main_guard and "/" not in summary.path:
                continue  # a script at the repository root: its literals are its flags
            by_scope: dict[str, list[Tunable]] = {}
            for call in summary.calls:
                if call.scope and not call.is_decorator:
                    tunables = _call_tunables(call)
                    if tunables:
                        by_scope.setdefault(call.scope, []).extend(tunables)
            functions = {fn.qualname: fn for fn in summary.functions}
            for fn in summary.functions:
                # A stub (Protocol, abstract method) repeats its implementation's signature.
                limits = [] if fn.is_stub else _limit_defaults(fn)
                if limits:
                    if routes is None:
                        routes = _route_handlers(project)
                    if (summary.path, fn.qualname) not in routes and not fn.decorators:
                        by_scope.setdefault(fn.qualname, [])[:0] = limits
            for scope, tunables in sorted(by_scope.items(), key=lambda item: item[1][0].line):
                fn = functions.get(scope)
                if fn is None:
                    continue  # a lambda or class body: no function to name
                yield self._finding(summary, fn, tunables)

    def _finding(self, summary: ModuleSummary, fn: FunctionFact, tunables: list[Tunable]) -> Finding:
        texts = list(dict.fromkeys(t.text for t in tunables))
        shown = ", ".join(texts[:MAX_LISTED]) + (f" and {len(texts) - MAX_LISTED} more" if len(texts) > MAX_LISTED else "")
        kinds = sorted({t.kind for t in tunables})
        return self.finding(
            f"{fn.qualname}() hard-codes {len(texts)} tunable(s): {shown}; changing them needs a code change",
            Location(summary.path, fn.def_line or fn.line),
            anchor=f"{summary.module}:{fn.qualname}",
            severity=Severity.LOW if len(texts) >= 3 else Severity.INFO,
            evidence=[Evidence(Location(summary.path, t.line), f"{t.kind}: {t.text}") for t in tunables[:10]],
            details={"literals": len(texts), "kinds": ",".join(kinds)})
