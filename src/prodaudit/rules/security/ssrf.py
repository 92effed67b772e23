from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Severity
from prodaudit.model.values import dotted_name
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.security.names import words

HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "api_route", "route", "websocket"})
FETCH_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream",
                           "fetch", "urlopen", "ws_connect"})
FETCH_MODULES = ("httpx.", "requests.", "aiohttp.", "urllib.request.", "urllib3.")
CLIENT_WORDS = frozenset({"client", "http", "httpx", "requests", "aiohttp", "fetcher"})
# Parameters a handler gets from FastAPI's dependency system, not from the request.
NOT_REQUEST = frozenset({"Depends", "Security"})
ALLOW_CHECK = re.compile(r"(allow|whitelist|permitted|trusted|safe|valid)", re.IGNORECASE)
URL_PARTS = frozenset({"netloc", "hostname", "host", "scheme"})


def is_fetch(module, call: ast.Call) -> bool:
    name = module.resolve(call.func)
    if name.startswith(FETCH_MODULES) and name.rsplit(".", 1)[-1] in FETCH_METHODS | {"Request"}:
        return True
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in FETCH_METHODS:
        receiver = dotted_name(func.value) or ""
        return bool(set(words(receiver.rsplit(".", 1)[-1])) & CLIENT_WORDS)
    return False


def url_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "url":
            return keyword.value
    if not call.args:
        return None
    func = call.func
    # client.request("GET", url)
    if isinstance(func, ast.Attribute) and func.attr == "request" and len(call.args) > 1:
        return call.args[1]
    return call.args[0]


def leading_name(node: ast.expr) -> str | None:
    """The variable that decides where a URL points: the whole URL, or the start of an
    f-string/concatenation (`f"{base}/x"`), never a value placed after a fixed host."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return dotted_name(node)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.FormattedValue):
        return leading_name(node.values[0].value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return leading_name(node.left)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("strip", "format"):
        return leading_name(node.func.value)
    return None


@register
class Ssrf(FileRule):
    """
    ## What it does
    Finds HTTP handlers that make an outbound request (httpx, requests, aiohttp, urllib)
    to a URL taken from the request (a path, query or body parameter) with no allow-list
    check of its host in between. A URL that only appends request values after a fixed
    host is not reported. When the URL goes through a helper function in the same file,
    the finding is `info` (review).

    ## Why is this bad?
    The server fetches whatever address the caller names, from inside your network:
    `http://169.254.169.254/` (cloud credentials), `http://localhost:6379`, internal admin
    panels. A "proxy" or "fetch preview" endpoint becomes a door into the private network.

    ## Example
    ```python
    import httpx
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/proxy")
    async def proxy(url: str):
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        return response.text
    ```

    ## Use instead
    ```python
    from urllib.parse import urlparse

    import httpx
    from fastapi import FastAPI, HTTPException

    app = FastAPI()
    ALLOWED_HOSTS = {"images.example.com"}


    @app.get("/proxy")
    async def proxy(url: str):
        if urlparse(url).hostname not in ALLOWED_HOSTS:
            raise HTTPException(400)
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        return response.text
    ```

    ## Known limitations
    Only flows inside one module are followed (handler -> local variable -> request, or
    handler -> helper in the same file). An allow-list is recognised by a membership or
    `startswith` test, `urlparse(...).hostname`/`netloc`, or a call named like
    allow/whitelist/trusted/safe/valid.
    """

    meta = RuleMeta(
        id="PA414", slug="ssrf", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="outbound request to a URL taken from the request, with no host allow-list",
        effort_minutes=30, cwe=(918,), owasp=("A10:2021", "API7:2023"), technology=("httpx", "requests", "aiohttp"),
        fix="Parse the URL and check its scheme and host against a fixed allow-list (and refuse "
            "private addresses) before fetching.",
    )

    def check_module(self, module) -> Iterator[Finding]:
        functions = {fn.name: fn for fn in module.nodes(ast.FunctionDef, ast.AsyncFunctionDef)}
        for fn in functions.values():
            if not self.is_handler(fn):
                continue
            tainted = self.request_params(fn)
            if not tainted:
                continue
            tainted |= self.derived(fn, tainted)
            for call in self.own_calls(fn):
                if is_fetch(module, call):
                    name = self._tainted_url(call, tainted)
                    if name and not self.allow_listed(module, fn, name):
                        yield self.finding(
                            f"{fn.name}() fetches a URL taken from the request (`{name}`) with no host "
                            f"allow-list: callers can reach internal addresses through the server",
                            module.location(call), anchor=f"{module.module}:{module.scope_name(fn)}:{name}")
                    continue
                helper = functions.get(dotted_name(call.func) or "")
                if helper is None or helper is fn:
                    continue
                yield from self.through_helper(module, fn, call, helper, tainted)

    def through_helper(self, module, fn, call: ast.Call, helper, tainted: set[str]) -> Iterator[Finding]:
        params = [a.arg for a in helper.args.args]
        pairs = [(params[i], leading_name(arg)) for i, arg in enumerate(call.args[:len(params)])]
        pairs += [(k.arg, leading_name(k.value)) for k in call.keywords if k.arg]
        pairs = [(inner, outer) for inner, outer in pairs if outer in tainted]
        if not pairs or any(self.allow_listed(module, fn, outer) for _, outer in pairs):
            return
        passed = {inner for inner, _ in pairs}
        inner = passed | self.derived(helper, passed)
        for inner_call in self.own_calls(helper):
            if is_fetch(module, inner_call):
                name = self._tainted_url(inner_call, inner)
                if name and not self.allow_listed(module, helper, name):
                    yield self.finding(
                        f"{fn.name}() passes a request value to {helper.name}(), which fetches it as a URL "
                        f"(`{name}`) with no host allow-list: review for SSRF",
                        module.location(call), severity=Severity.INFO, confidence=Confidence.LOW,
                        anchor=f"{module.module}:{module.scope_name(fn)}:{helper.name}",
                        evidence=[Evidence(module.location(inner_call), f"fetched here in {helper.name}()")])
                    return

    @staticmethod
    def is_handler(fn) -> bool:
        for deco in fn.decorator_list:
            if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr in HTTP_METHODS:
                return True
        return False

    @staticmethod
    def request_params(fn) -> set[str]:
        args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
        defaults = [None] * (len(fn.args.posonlyargs) + len(fn.args.args) - len(fn.args.defaults)) + \
            list(fn.args.defaults) + list(fn.args.kw_defaults)
        out = set()
        for arg, default in zip(args, defaults):
            if isinstance(default, ast.Call) and (dotted_name(default.func) or "").rsplit(".", 1)[-1] in NOT_REQUEST:
                continue
            annotation = ast.unparse(arg.annotation) if arg.annotation is not None else ""
            if re.search(r"\b(Request|WebSocket|Response|BackgroundTasks|Session|AsyncSession)\b", annotation):
                continue
            out.add(arg.arg)
        return out

    @staticmethod
    def own_calls(fn) -> list[ast.Call]:
        calls, stack = [], list(fn.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            if isinstance(node, ast.Call):
                calls.append(node)
            stack.extend(ast.iter_child_nodes(node))
        return sorted(calls, key=lambda c: (c.lineno, c.col_offset))

    @staticmethod
    def derived(fn, tainted: set[str]) -> set[str]:
        """Locals assigned from a tainted value: `target = body.url`, `url = f"{base}/x"`."""
        found: set[str] = set()
        # One walk; the three passes go over its assignments in the walk's order (a pass
        # sees what the same pass found earlier, so the order decides how far it reaches).
        assignments = [(node.targets[0].id, lead) for node in ast.walk(fn)
                       if isinstance(node, ast.Assign) and len(node.targets) == 1
                       and isinstance(node.targets[0], ast.Name) and (lead := leading_name(node.value))]
        for _ in range(3):
            for target, lead in assignments:
                if lead in tainted | found or lead.split(".")[0] in tainted | found:
                    found.add(target)
        return found

    @staticmethod
    def _tainted_url(call: ast.Call, tainted: set[str]) -> str | None:
        argument = url_argument(call)
        lead = leading_name(argument) if argument is not None else None
        if lead and (lead in tainted or lead.split(".")[0] in tainted):
            return lead
        return None

    @staticmethod
    def allow_listed(module, fn, name: str) -> bool:
        root = name.split(".")[0]
        for node in ast.walk(fn):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
                if any(isinstance(n, (ast.Name, ast.Attribute)) and (dotted_name(n) or "").split(".")[0] == root
                       for n in ast.walk(node.left)):
                    return True
                if any(isinstance(n, ast.Attribute) and n.attr in URL_PARTS for n in ast.walk(node)):
                    return True
            if isinstance(node, ast.Call):
                callee = dotted_name(node.func) or (node.func.attr if isinstance(node.func, ast.Attribute) else "")
                tail = callee.rsplit(".", 1)[-1]
                mentions = any(isinstance(n, ast.Name) and n.id == root for n in ast.walk(node))
                if mentions and (tail == "startswith" or ALLOW_CHECK.search(tail)):
                    return True
            if isinstance(node, ast.Attribute) and node.attr in URL_PARTS and isinstance(node.value, ast.Call) and \
                    (dotted_name(node.value.func) or "").endswith("urlparse"):
                return True
        return False
