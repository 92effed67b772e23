from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.hierarchy import ClassHierarchy
from prodaudit.rules.base import ProjectRule, RuleMeta, register

MOCK_CLASS = re.compile(r"^(Mock|Fake|Stub|Dummy)([A-Z_]|$)|[a-z0-9](Mock|Fake|Stub|Dummy)$")
MOCK_WORDS = frozenset({"mock", "mocked", "fake", "stub", "stubbed", "dummy"})
MOCK_LIBRARIES = ("unittest.mock.", "mock.", "fakeredis.", "mongomock.", "moto.", "pytest_mock.")
PLACEHOLDER = re.compile(
    r"\b(todo|fixme|not (yet )?implemented|mock(ed)?|stub(bed)?|dummy|placeholder|lorem ipsum)\b"
    r"|заглушк|не реализован", re.IGNORECASE)
ABSTRACT_DECORATORS = ("abstractmethod", "overload", "abstractproperty")
NONE_RETURNS = re.compile(r"^(None|NoReturn|Never|typing\.NoReturn)$|Optional\[|\|\s*None|None\s*\|")
NOT_IMPLEMENTED_STATUS = re.compile(r"(?<!\d)501(?!\d)|NOT_IMPLEMENTED")
BOT_REPLIES = frozenset({"answer", "reply", "send_message", "edit_text", "edit_message_text",
                         "answer_callback_query", "reply_text"})


def placeholder_text(value) -> str | None:
    """A string literal inside a returned value (dict values, not keys) that reads like a
    placeholder."""
    if value is None:
        return None
    for item in value.walk():
        if (item.kind == "const" and isinstance(item.const, str) and len(item.const) <= 200
                and PLACEHOLDER.search(item.const)):
            return item.const
    return None


def is_literal(value) -> bool:
    """A literal answer, possibly wrapped in a response class: nothing computed."""
    if value is None:
        return False
    if value.kind == "call":
        if value.name.rsplit(".", 1)[-1] not in ("JSONResponse", "PlainTextResponse", "HTMLResponse",
                                                 "ORJSONResponse", "Response", "dict"):
            return False
        return all(is_literal(item) for item in value.items) and all(
            is_literal(item) or key == "status_code" for key, item in value.keywords)
    if value.kind in ("dict", "list", "tuple", "set"):
        return all(is_literal(item) for item in value.items) and all(
            is_literal(item) for _, item in value.keywords)
    return value.kind == "const"


@register
class StubInProduction(ProjectRule):
    """
    ## What it does
    Finds test doubles and unfinished code on the paths routes and bot handlers run:
    Mock/Fake/Stub/Dummy classes (or `unittest.mock`, fakeredis...) used by code a route
    reaches, functions named as mock paths (`_chat_with_mock_agents`) a route reaches,
    functions whose body is only `raise NotImplementedError` (or only
    `pass`/`...` while the signature promises a value) reached from a route, and
    handlers that answer with a hard-coded placeholder ("TODO", "not implemented",
    "mock", "stub", "dummy", "placeholder") or a 501 status. Abstract methods, Protocol
    and ABC classes, overloads and methods that subclasses override are left out.

    ## Why is this bad?
    The endpoint exists, is documented in OpenAPI and returns 200, or a 500 from
    `NotImplementedError`, but does not do the job: clients build on fake data, a
    payment or email never happens, and nobody notices until production (seed 002 P0 #5,
    "mock/stub code"; P1 #4).

    ## Example
    ```python
    from fastapi import FastAPI

    app = FastAPI()


    class FakePaymentGateway:
        def charge(self, amount):
            return {"status": "paid"}


    @app.post("/pay")
    async def pay(amount: int):
        gateway = FakePaymentGateway()
        return gateway.charge(amount)
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI

    app = FastAPI()


    class StripeGateway:
        def charge(self, amount):
            return {"status": "paid"}


    @app.post("/pay")
    async def pay(amount: int):
        gateway = StripeGateway()
        return gateway.charge(amount)
    ```

    ## Known limitations
    Reachability is the call graph's, by name: a fake selected by a configuration flag
    is reported as reachable (review it); a stub reached only through a dynamic
    dispatch the call graph does not follow is missed. `pass`-only functions without a
    return annotation are taken as deliberate no-ops.
    """

    meta = RuleMeta(
        id="PA606", slug="stub-in-production", family="architecture",
        dimension=Dimension.READINESS, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="mock/fake/stub classes, NotImplementedError or pass bodies, or placeholder "
                "responses on paths that routes and bot handlers run",
        effort_minutes=60,
        fix="Implement it, or remove the route until it is implemented; keep test doubles in "
            "tests and inject them there.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        entries = dict(project.entry_points)
        for handler in project.bot_handlers:
            entries.setdefault(handler.function, handler.label)
        graph = project.callgraph
        reached = graph.reachable(entries)
        hierarchy = ClassHierarchy(project)
        yield from self.mock_uses(project, graph, reached)
        yield from self.stubs(project, graph, reached, hierarchy, entries)
        yield from self.placeholders(project, graph, entries)

    # -- test doubles used on a production path ------------------------------------------
    def mock_uses(self, project, graph, reached) -> Iterator[Finding]:
        by_double: dict[str, list] = {}
        for key, (label, path) in sorted(reached.items()):
            node = graph.nodes[key]
            for call in node.module.calls:
                if call.scope != node.fact.qualname:
                    continue
                double = self.test_double(project, graph, node.module, call)
                if double is not None:
                    by_double.setdefault(double[0], []).append((call, node, label, path, double[1]))
        # Methods of a double reached through an instance made elsewhere (a module-level
        # `cache = DummyCache()` whose methods routes call).
        for key, (label, path) in sorted(reached.items()):
            node = graph.nodes[key]
            owner = node.fact.class_name.rsplit(".", 1)[-1]
            if not owner or not MOCK_CLASS.search(owner) or owner in by_double or not path:
                continue
            cls = project.class_named(node.module, node.fact.class_name)
            defined = Location(node.module.path, cls.line) if cls else node.location
            caller = graph.nodes.get(path[-1].caller)
            if caller is None:
                continue
            call = next((c for c in caller.module.calls if c.line == path[-1].line
                         and c.scope == caller.fact.qualname), None)
            if call is not None:
                by_double.setdefault(owner, []).append((call, caller, label, path, defined))
        # Functions named as mock paths (`_chat_with_mock_agents`) that routes reach.
        mock_functions: dict[str, list] = {}
        for key, (label, path) in sorted(reached.items()):
            node = graph.nodes[key]
            if not MOCK_WORDS & set(node.fact.name.lower().split("_")) or not path:
                continue
            mock_functions.setdefault(node.module.path, []).append((node, label, path))
        for module_path, found in sorted(mock_functions.items()):
            node, label, path = found[0]
            names = ", ".join(f"`{n.fact.qualname}`" for n, _, _ in found[:4])
            yield self.finding(
                f"Mock code path {names} in {module_path} is reached from {label}: requests can "
                f"get fake answers",
                path[-1].location,
                evidence=[*[Evidence(n.location, f"mock function defined here, reached from "
                                                 f"{graph.describe_path(lb, pth)}") for n, lb, pth in found[:4]],
                          Evidence(path[-1].location, "called here")],
                anchor=f"mock-path:{node.key}",
                details={"functions": len(found)},
            )
        for name, uses in sorted(by_double.items()):
            call, node, label, path, defined = uses[0]
            evidence = []
            if defined is not None:
                evidence.append(Evidence(defined, f"`{name}` defined in application code"))
            for use_call, use_node, use_label, use_path, _ in uses[:4]:
                evidence.append(Evidence(Location(use_node.module.path, use_call.line),
                                         f"used here, reached from {graph.describe_path(use_label, use_path)}"))
            yield self.finding(
                f"Test double `{name}` is used on a production path ({label}): "
                f"requests get fake behaviour",
                Location(node.module.path, call.line),
                evidence=evidence,
                anchor=f"double:{name}",
                details={"uses": len(uses)},
            )

    @staticmethod
    def test_double(project, graph, module, call) -> tuple[str, Location | None] | None:
        tail = call.name.rsplit(".", 1)[-1]
        if call.name.startswith(MOCK_LIBRARIES) and (tail[:1].isupper() or tail == "patch"):
            return call.name, None
        written = call.callee.split("(")[0]
        if "(" in call.callee or not MOCK_CLASS.search(written.rsplit(".", 1)[-1]):
            return None
        found = graph.class_from_name(module, written, call.name)
        if found is None:
            return None
        target, cls = found
        return cls.name, Location(target.path, cls.line)

    # -- unfinished functions on a production path ---------------------------------------
    def stubs(self, project, graph, reached, hierarchy, entries) -> Iterator[Finding]:
        for key, (label, path) in sorted(reached.items()):
            node = graph.nodes[key]
            fn = node.fact
            if not fn.is_stub or fn.has_yield:
                continue
            if any(d.text.split("(")[0].rsplit(".", 1)[-1] in ABSTRACT_DECORATORS for d in fn.decorators):
                continue
            cls = project.class_named(node.module, fn.class_name) if fn.class_name else None
            if cls is not None and (hierarchy.is_abstract(node.module, cls)
                                    or hierarchy.overridden(node.module, cls, fn.name)):
                continue
            body = " ".join(project.line(node.module.path, n)
                            for n in range(fn.def_line or fn.line, fn.end_line + 1))
            raises = "NotImplementedError" in body
            if not raises:
                returns = fn.returns.text if fn.returns is not None else ""
                if not returns or NONE_RETURNS.search(returns):
                    continue  # a deliberate no-op
                if cls is not None and hierarchy.ancestors(node.module, cls) == [] and cls.bases:
                    continue  # a no-op override of a library hook
            is_entry = key in entries
            what = "raises NotImplementedError" if raises else (
                f"has an empty body but promises `{fn.returns.text}` (it returns None)")
            consequence = "every call to it fails with 500" if raises and is_entry else (
                "requests that reach it fail" if raises else "callers get None")
            yield self.finding(
                f"`{fn.qualname}` {what} and is reached from {label}: {consequence}",
                node.location,
                severity=Severity.HIGH if raises and is_entry else Severity.MEDIUM,
                confidence=Confidence.HIGH if is_entry else Confidence.MEDIUM,
                evidence=[Evidence(node.location, "unfinished function defined here"),
                          *[Evidence(edge.location, f"called here ({graph.describe_path(label, path)})")
                            for edge in path[-2:]]],
                anchor=key,
            )

    # -- placeholder answers ----------------------------------------------------------
    def placeholders(self, project, graph, entries) -> Iterator[Finding]:
        bot = {h.function for h in project.bot_handlers}
        for key, label in sorted(entries.items()):
            node = graph.nodes.get(key)
            if node is None or (not label.startswith(tuple(f"{m} " for m in (
                    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "WS"))) and key not in bot):
                continue
            fn = node.fact
            found = None
            # Only handlers whose every answer is a literal: a placeholder in one branch
            # of a real handler is a fallback, not a missing feature.
            literal = bool(fn.return_values) and all(is_literal(v) for v in fn.return_values)
            for value in fn.return_values:
                text = placeholder_text(value) if literal else None
                if text is not None:
                    found = (value.line or fn.def_line, f"returns the placeholder {text!r}")
                    break
                if value is not None and value.kind == "call" and value.keyword("status_code") is not None \
                        and NOT_IMPLEMENTED_STATUS.search(value.keyword("status_code").text):
                    found = (value.line or fn.def_line, "answers 501 Not Implemented")
                    break
            if found is None:
                for call in node.module.calls:
                    if call.scope != fn.qualname:
                        continue
                    tail = call.callee.rsplit(".", 1)[-1]
                    status = call.keyword("status_code") or (call.args[0] if call.args else None)
                    if tail == "HTTPException" and status is not None and NOT_IMPLEMENTED_STATUS.search(status.text):
                        found = (call.line, "answers 501 Not Implemented")
                        break
                    if key in bot and tail in BOT_REPLIES:
                        text = next((t for t in map(placeholder_text, call.args) if t), None)
                        if text is not None:
                            found = (call.line, f"replies with the placeholder {text!r}")
                            break
            if found is None:
                continue
            line, what = found
            yield self.finding(
                f"Handler `{fn.qualname}` for {label} {what}: the feature is not implemented",
                Location(node.module.path, line),
                evidence=[Evidence(node.location, f"handler for {label} defined here")],
                anchor=f"{key}:placeholder",
            )
