from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.values import Value
from prodaudit.rules.base import BridgedRule, ProjectRule, RuleMeta, register

VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send",
         "ws_connect"}
HTTPX_CALLS = {"httpx.Client", "httpx.AsyncClient", *(f"httpx.{v}" for v in VERBS)}
HTTPX_TIMEOUT = {"httpx.Timeout"}
AIOHTTP_SESSION = {"aiohttp.ClientSession", "aiohttp.client.ClientSession"}
AIOHTTP_TIMEOUT = {"aiohttp.ClientTimeout", "aiohttp.client.ClientTimeout"}
URLOPEN = {"urllib.request.urlopen"}
SOCKET_DEFAULT = {"socket.setdefaulttimeout"}


@register
class MissingTimeout(BridgedRule, ProjectRule):
    """
    ## What it does
    Finds outbound HTTP calls that can wait forever or for minutes: `requests` calls
    without `timeout` (ruff S113) and `requests.Session` methods without one; `httpx`
    with `timeout=None` or `httpx.Timeout(None)` (the httpx default of 5 s is fine, so a
    missing timeout is not reported); `aiohttp.ClientSession()` without `timeout=` (its
    default total timeout is 300 s) or with `ClientTimeout()`/`timeout=None` (no limit);
    `urllib.request.urlopen` without a timeout.

    ## Why is this bad?
    `requests` and `urlopen` wait forever by default. A hung upstream holds the worker (or
    thread, or coroutine and its connection) indefinitely; enough of them and the service
    stops answering. aiohttp's 5-minute default is rarely what a request handler wants:
    the user has long gone and the slot is still taken.

    ## Example
    ```python
    import requests

    def fetch(url):
        return requests.get(url)
    ```

    ## Use instead
    ```python
    import requests

    def fetch(url):
        return requests.get(url, timeout=10)
    ```

    ## Known limitations
    The timeout must be written at the call or on the session; a `requests.Session` with
    mounted adapters and calls passing `**kwargs` are assumed to set one. An aiohttp
    session is fine without `timeout=` when every request made on it in the same function
    passes one. `urlopen` is not reported when the project calls
    `socket.setdefaulttimeout`.
    """

    needs = ("lifecycle",)
    meta = RuleMeta(
        id="PA205", slug="missing-timeout", family="asyncio", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, summary="outbound HTTP request without a timeout (or aiohttp's 300 s default)",
        effort_minutes=5, ruff_codes=("S113",), file_kinds=("source",),
        fix="Pass an explicit timeout (e.g. timeout=10, aiohttp.ClientTimeout(total=10)) taken "
            "from settings.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        socket_default = any(c.name in SOCKET_DEFAULT for m in project.summaries() for c in m.calls)
        for module in project.summaries("source"):
            # Sessions given a default timeout: a mounted adapter (may set one), or
            # `session.request = functools.partial(session.request, timeout=...)`.
            mounted = {c.callee.rsplit(".", 1)[0] for c in module.calls if c.callee.endswith(".mount")}
            mounted |= {a.target.rsplit(".", 1)[0] for a in module.assignments if a.target.endswith(".request")}
            for call in module.calls:
                if call.has_star_args:
                    continue
                where = Location(module.path, call.line)
                if call.name in URLOPEN and not socket_default:
                    if len(call.args) < 3 and call.keyword("timeout") is None:
                        yield self.finding(
                            "`urllib.request.urlopen` without a timeout: it waits forever for a hung server",
                            where, anchor=f"{module.module}:{call.scope}:urlopen")
                    continue
                if call.name in HTTPX_CALLS:
                    timeout = call.keyword("timeout")
                    if _httpx_unbounded(timeout):
                        # `timeout=None` itself is ruff S113's; httpx.Timeout(None) is ours.
                        yield self._unbounded(where, f"`{call.callee}(timeout={timeout.text})`", module, call)
                    continue
                if call.name in AIOHTTP_SESSION:
                    yield from self._aiohttp_session(project, module, call, where)
                    continue
                if call.callee.rsplit(".", 1)[-1] not in VERBS:
                    continue  # the method receiver_of finds is the callee's last part
                found = project.objects.receiver_of(module, call) if "." in call.callee else None
                if found is None:
                    continue
                bound, method = found
                if method not in VERBS:
                    continue
                family = bound.obj.family
                timeout = call.keyword("timeout")
                receiver = call.callee[: -len(method) - 1]
                if family == "requests" and timeout is None and receiver not in mounted:
                    yield self.finding(
                        f"`{call.callee}()` on a requests.Session has no timeout: requests waits forever "
                        f"for a hung server",
                        where, evidence=[Evidence(where, "request without timeout"),
                                         Evidence(bound.location, bound.how)],
                        anchor=f"{module.module}:{call.scope}:{call.callee}")
                elif family in ("httpx", "aiohttp") and timeout is not None and (
                        timeout.const is None and timeout.is_const or _httpx_unbounded(timeout)
                        or _aiohttp_unbounded(timeout)):
                    yield self._unbounded(where, f"`{call.callee}(..., timeout={timeout.text})`", module, call)

    def _unbounded(self, where: Location, what: str, module, call) -> Finding:
        return self.finding(f"{what} disables the timeout: a hung server holds the request forever",
                            where, anchor=f"{module.module}:{call.scope}:{call.callee}:timeout-none")

    def _aiohttp_session(self, project, module, call, where: Location) -> Iterator[Finding]:
        timeout = call.keyword("timeout")
        if timeout is not None:
            if _aiohttp_unbounded(timeout):
                yield self._unbounded(where, f"`{call.callee}(timeout={timeout.text})`", module, call)
            return
        # Fine when every request made on this session in the function passes its own timeout.
        requests = []
        for other in module.calls:
            if other.scope != call.scope or other is call or "." not in other.callee:
                continue
            found = project.objects.receiver_of(module, other)
            if found is not None and found[1] in VERBS and found[0].location == where:
                requests.append(other)
        if requests and all(r.keyword("timeout") is not None or r.has_star_args for r in requests):
            return
        yield self.finding(
            f"`{call.callee}()` without `timeout=`: aiohttp's default total timeout is 300 s, so a hung "
            f"upstream holds each request for 5 minutes",
            where, severity=Severity.LOW,
            evidence=[Evidence(where, "ClientSession created without timeout (default ClientTimeout(total=300))")]
            + [Evidence(Location(module.path, r.line), "request without its own timeout") for r in requests[:3]
               if r.keyword("timeout") is None],
            anchor=f"{module.module}:{call.scope}:ClientSession")


def _httpx_unbounded(timeout: Value | None) -> bool:
    """httpx.Timeout(None) with nothing bounded."""
    if timeout is None or timeout.kind != "call" or timeout.name not in HTTPX_TIMEOUT:
        return False
    positional_none = bool(timeout.items) and timeout.items[0].is_const and timeout.items[0].const is None
    keyword_none = (timeout.keyword("timeout") is not None and timeout.keyword("timeout").is_const
                    and timeout.keyword("timeout").const is None)
    others = [v for k, v in timeout.keywords if k != "timeout" and not (v.is_const and v.const is None)]
    return (positional_none or keyword_none) and not others


def _aiohttp_unbounded(timeout: Value | None) -> bool:
    """ClientTimeout() / ClientTimeout(total=None) with no other limit: waits forever."""
    if timeout is None or timeout.kind != "call" or timeout.name not in AIOHTTP_TIMEOUT:
        return False
    if timeout.items:
        return timeout.items[0].is_const and timeout.items[0].const is None and len(timeout.items) == 1
    return all(v.is_const and v.const is None for _, v in timeout.keywords)
