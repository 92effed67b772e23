"""HTTP routes with full URLs, and their dependencies, from module facts.

Apps (FastAPI/Starlette) and routers (APIRouter) are found as assignments of calls to
their classes, at module level or inside factories. Routes come from decorators
(`@router.get`), `add_api_route` and Starlette `Route(...)` lists; includes from
`include_router(prefix=)` and `mount()`. A router included twice yields its routes twice.
Prefixes that are not literals are resolved through `resolve_text` (settings model) or
kept as "{expression}" with url_known False.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from prodaudit.findings import Location
from prodaudit.model.facts import FunctionFact, ModuleSummary
from prodaudit.model.values import Value

APP_CLASSES = {"fastapi.FastAPI": "fastapi", "starlette.Starlette": "starlette",
               "starlette.applications.Starlette": "starlette"}
ROUTER_CLASSES = {"fastapi.APIRouter": "fastapi", "starlette.Router": "starlette",
                  "starlette.routing.Router": "starlette"}
HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
DEPENDS = {"fastapi.Depends", "fastapi.Security", "fastapi.params.Security"}
ANNOTATED = {"typing.Annotated", "typing_extensions.Annotated"}
# Names of dependencies that authenticate or authorize. Deliberately not "token" or
# "get_user" alone: repository ports like get_refresh_token_port are not auth.
AUTH_NAME = re.compile(
    r"(current_?(active_?)?(super_?)?user|require|authenticat|authoriz|permission|"
    r"verify_(token|jwt|api_?key|signature|admin|user|access|webhook|telegram|init_data)|"
    r"check_(auth|permission|admin|token|access|role)|get_(current|auth)|is_admin|admin_(user|only|required)|"
    r"login_required|api_?key|jwt|bearer|oauth|superuser|role)", re.IGNORECASE)
# dependency-injector markers: `Depends(Provide[Container.service])`.
INJECTED_SERVICE = frozenset({"Provide", "Provider", "Closing"})
RATE_LIMIT_NAME = re.compile(r"(rate_?limit|limiter|throttl)", re.IGNORECASE)
SECURITY_SCHEMES = "fastapi.security."


@dataclass(frozen=True)
class FunctionRef:
    path: str
    module: str
    qualname: str
    line: int
    is_async: bool

    @property
    def key(self) -> str:
        return f"{self.module}:{self.qualname}"

    @property
    def location(self) -> Location:
        return Location(self.path, self.line)


@dataclass(frozen=True)
class Dependency:
    """A `Depends(...)`/`Security(...)` somewhere on the way to a route."""

    target: str  # resolved dotted name of what is depended on, or its text
    text: str
    level: str  # app, include, router, route, param, nested
    location: Location
    is_auth: bool
    is_rate_limit: bool
    # Defined in a module prodaudit could not parse: is_auth is then a guess from the name.
    unresolved: bool = False


@dataclass(frozen=True)
class RouterObject:
    key: str  # "module:scope.name"
    kind: str  # app, router
    framework: str
    prefix: str
    prefix_known: bool
    dependencies: tuple[Dependency, ...]
    location: Location


@dataclass(frozen=True)
class Include:
    parent: str
    child: str
    prefix: str
    prefix_known: bool
    dependencies: tuple[Dependency, ...]
    location: Location
    kind: str  # include_router, mount


@dataclass(frozen=True)
class RouteDecl:
    router: str
    methods: tuple[str, ...]
    path: str
    path_known: bool
    handler: FunctionRef | None
    dependencies: tuple[Dependency, ...]
    rate_limits: tuple[str, ...]  # decorator texts like limiter.limit("5/minute")
    response_model: str
    location: Location


@dataclass(frozen=True)
class Endpoint:
    method: str
    url: str
    url_known: bool
    handler: FunctionRef | None
    app: str  # router key of the app it is served by; "" when not mounted anywhere
    chain: tuple[str, ...]  # router keys from the app down to the declaring router
    includes: tuple[Location, ...]  # include_router/mount calls on the way
    dependencies: tuple[Dependency, ...]
    rate_limits: tuple[str, ...]
    response_model: str
    location: Location

    @cached_property  # asked for every endpoint of a group, per endpoint, by PA401
    def auth(self) -> tuple[Dependency, ...]:
        return tuple(d for d in self.dependencies if d.is_auth)

    @property
    def label(self) -> str:
        return f"{self.method} {self.url}"


@dataclass(frozen=True)
class RouteModel:
    routers: tuple[RouterObject, ...]
    includes: tuple[Include, ...]
    declarations: tuple[RouteDecl, ...]
    endpoints: tuple[Endpoint, ...]
    notes: tuple[str, ...]

    def router(self, key: str) -> RouterObject | None:
        for router in self.routers:
            if router.key == key:
                return router
        return None

    def endpoints_of(self, handler_key: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.handler and e.handler.key == handler_key]


def dependency_calls(project, module: ModuleSummary, param) -> list[tuple[Value, ModuleSummary]]:
    """`Depends(...)` calls of one parameter: as its default, inside `Annotated[...]`, or
    behind a type alias (`CurrentUser = Annotated[User, Depends(get_current_user)]`)."""
    found = []
    if param.default is not None and param.default.kind == "call" and param.default.name in DEPENDS:
        found.append((param.default, module))
    annotation = param.annotation
    where = module
    if annotation is not None and annotation.kind in ("name", "attr"):
        target = project.resolve_symbol(annotation.name) if "." in annotation.name else (module, annotation.name)
        if target is not None:
            alias = project.assignment(target[0], "", target[1])
            if alias is not None and alias.value is not None and alias.value.kind == "subscript":
                annotation, where = alias.value, target[0]
    if annotation is not None and annotation.kind == "subscript" and annotation.name in ANNOTATED:
        for item in annotation.items[1:]:
            if item.kind == "call" and item.name in DEPENDS:
                found.append((item, where))
    return found


def join_url(*parts: str) -> str:
    url = "".join(parts)
    return url if url.startswith("/") else "/" + url


class RouteBuilder:
    def __init__(self, project, resolve_text: Callable[[Value, ModuleSummary], str | None] | None = None):
        self.project = project
        self.resolve_text = resolve_text
        self.routers: dict[str, RouterObject] = {}
        self.includes: list[Include] = []
        self.declarations: list[RouteDecl] = []
        self.notes: list[str] = []

    # -- objects ---------------------------------------------------------------------
    def object_key(self, module: ModuleSummary, scope: str, written: str, resolved: str) -> str | None:
        """Key of the app/router an expression like `router` or `auth.router` names."""
        head = written.split(".")[0]
        if "." not in written:
            fact = self.project.assignment(module, scope, head)
            if fact is not None:
                return f"{module.module}:{(fact.scope + '.') if fact.scope else ''}{head}"
        found = self.project.resolve_symbol(resolved) if resolved and resolved != written else None
        if found is not None:
            target_module, name = found
            if self.project.assignment(target_module, "", name) is not None:
                return f"{target_module.module}:{name}"
        return None

    def text_of(self, value: Value | None, module: ModuleSummary) -> tuple[str, bool]:
        if value is None:
            return "", True
        if value.kind == "const" and isinstance(value.const, str):
            return value.const, True
        if self.resolve_text is not None:
            text = self.resolve_text(value, module)
            if text is not None:
                return text, True
        return "{" + value.text + "}", False

    def dependencies_in(self, value: Value | None, module: ModuleSummary, level: str) -> list[Dependency]:
        if value is None:
            return []
        found = []
        for item in value.walk():
            if item.kind == "call" and item.name in DEPENDS:
                found.extend(self.dependency(item, module, level))
        return found

    def dependency(self, call: Value, module: ModuleSummary, level: str,
                   seen: frozenset[str] = frozenset()) -> list[Dependency]:
        target_value = call.arg(0) or call.keyword("dependency")
        target = target_value.name if target_value is not None and target_value.kind in ("name", "attr") else (
            target_value.name if target_value is not None and target_value.kind == "call" else "")
        text = call.text
        location = Location(module.path, call.line)
        nested: list[Dependency] = []
        is_auth = bool(AUTH_NAME.search(target.rsplit(".", 1)[-1] if target else text))
        is_rate = bool(RATE_LIMIT_NAME.search(target or text))
        if target_value is not None and target_value.kind == "subscript" and \
                target_value.name.rsplit(".", 1)[-1] in INJECTED_SERVICE:
            # `Depends(Provide[Container.jwt_service])`: dependency-injector hands over a
            # service object; whatever it is named, receiving it checks nobody.
            is_auth = is_rate = False
        if target and target not in seen and len(seen) < 6:
            scheme = self._security_scheme(target)
            if scheme:
                is_auth = True
            found = self.project.function(target) or self._function_via_symbol(target)
            if found is not None:
                dep_module, fn = found
                for param in fn.params:
                    nested.extend(self.param_dependencies(param, dep_module, "nested", seen | {target}))
        if any(d.is_auth for d in nested):
            is_auth = True
        if any(d.is_rate_limit for d in nested):
            is_rate = True
        return [Dependency(target or text, text, level, location, is_auth, is_rate), *nested]

    def _function_via_symbol(self, dotted: str) -> tuple[ModuleSummary, FunctionFact] | None:
        found = self.project.resolve_symbol(dotted)
        if found is None:
            return None
        module, name = found
        fn = module.function(name)
        return (module, fn) if fn else None

    def _security_scheme(self, dotted: str) -> bool:
        found = self.project.resolve_symbol(dotted)
        if found is None:
            return dotted.startswith(SECURITY_SCHEMES)
        module, name = found
        fact = self.project.assignment(module, "", name)
        return bool(fact and fact.value and fact.value.kind == "call"
                    and fact.value.name.startswith(SECURITY_SCHEMES))

    def param_dependencies(self, param, module: ModuleSummary, level: str,
                           seen: frozenset[str] = frozenset()) -> list[Dependency]:
        deps = []
        for call, where in dependency_calls(self.project, module, param):
            deps.extend(self.dependency(call, where, level, seen))
        unparsed = self.unparsed_alias(param, module, level)
        if unparsed is not None:
            deps.append(unparsed)
        return deps

    def unparsed_alias(self, param, module: ModuleSummary, level: str) -> Dependency | None:
        """An annotation alias (`user: CurrentUser`) defined in a module that could not be
        parsed: keep it as an unresolved dependency so auth is not silently "none"."""
        annotation = param.annotation
        if annotation is None or annotation.kind not in ("name", "attr") or annotation.name == annotation.text:
            return None
        found = self.project.resolve_symbol(annotation.name)
        if found is None or found[0].problem is None:
            return None
        name = annotation.name.rsplit(".", 1)[-1]
        return Dependency(annotation.name, annotation.text, level, Location(module.path, annotation.line),
                          bool(AUTH_NAME.search(name)), bool(RATE_LIMIT_NAME.search(name)), unresolved=True)

    # -- collection ------------------------------------------------------------------
    def collect_objects(self) -> None:
        for module in self.project.summaries("source"):
            for fact in module.assignments:
                value = fact.value
                if value is None or value.kind != "call" or "." in fact.target:
                    continue
                kind = "app" if value.name in APP_CLASSES else "router" if value.name in ROUTER_CLASSES else None
                if kind is None:
                    continue
                framework = APP_CLASSES.get(value.name) or ROUTER_CLASSES[value.name]
                prefix, known = self.text_of(value.keyword("prefix"), module)
                key = f"{module.module}:{(fact.scope + '.') if fact.scope else ''}{fact.target}"
                self.routers[key] = RouterObject(
                    key, kind, framework, prefix, known,
                    tuple(self.dependencies_in(value.keyword("dependencies"), module,
                                               "app" if kind == "app" else "router")),
                    Location(module.path, fact.line))
                routes = value.keyword("routes")
                if routes is not None:
                    self.starlette_routes(key, routes, module, fact.scope)

    def starlette_routes(self, key: str, routes: Value, module: ModuleSummary, scope: str) -> None:
        for item in routes.items:
            if item.kind != "call":
                continue
            tail = item.name.rsplit(".", 1)[-1]
            path, known = self.text_of(item.arg(0) or item.keyword("path"), module)
            if tail in ("Route", "WebSocketRoute"):
                endpoint = item.arg(1) or item.keyword("endpoint")
                methods_value = item.keyword("methods")
                methods = tuple(m.const.upper() for m in (methods_value.items if methods_value else ())
                                if isinstance(m.const, str)) or (("WS",) if tail == "WebSocketRoute" else ("GET",))
                self.declarations.append(RouteDecl(key, methods, path, known,
                                                   self.function_ref(endpoint, module, scope), (), (),
                                                   "", Location(module.path, item.line)))
            elif tail == "Mount":
                child_routes = item.keyword("routes")
                if child_routes is not None:
                    child_key = f"{key}/mount{item.line}"
                    self.routers[child_key] = RouterObject(child_key, "router", "starlette", "", True, (),
                                                           Location(module.path, item.line))
                    self.includes.append(Include(key, child_key, path, known, (),
                                                 Location(module.path, item.line), "mount"))
                    self.starlette_routes(child_key, child_routes, module, scope)

    def function_ref(self, value: Value | None, module: ModuleSummary, scope: str = "") -> FunctionRef | None:
        if value is None or value.kind not in ("name", "attr"):
            return None
        fn = module.function(value.text) if "." not in value.text else None
        if fn is None and scope:
            fn = module.function(f"{scope}.{value.text}")
        target_module = module
        if fn is None:
            found = self._function_via_symbol(value.name)
            if found is None:
                return None
            target_module, fn = found
        return FunctionRef(target_module.path, target_module.module, fn.qualname, fn.def_line or fn.line,
                           fn.is_async)

    def collect_routes(self) -> None:
        for module in self.project.summaries("source"):
            for fn in module.functions:
                for decorator in fn.decorators:
                    self.route_from_decorator(decorator, fn, module)
            for call in module.calls:
                method = call.callee.rsplit(".", 1)[-1] if "." in call.callee else ""
                if method in ("include_router", "mount"):
                    self.include_from_call(call, module, method)
                elif method in ("add_api_route", "add_route", "add_api_websocket_route"):
                    self.route_from_call(call, module)

    def route_from_decorator(self, decorator: Value, fn: FunctionFact, module: ModuleSummary) -> None:
        if decorator.kind != "call" or "." not in decorator.text.split("(")[0]:
            return
        written = decorator.text.split("(")[0]
        obj_written, _, method = written.rpartition(".")
        if method not in (*HTTP_METHODS, "api_route", "route", "websocket"):
            return
        obj_resolved = decorator.name.rpartition(".")[0]
        key = self.object_key(module, fn.parent or fn.class_name, obj_written, obj_resolved)
        if key is None or key not in self.routers:
            return
        path, known = self.text_of(decorator.arg(0) or decorator.keyword("path"), module)
        if method in ("api_route", "route"):
            methods_value = decorator.keyword("methods")
            methods = tuple(m.const.upper() for m in (methods_value.items if methods_value else ())
                            if isinstance(m.const, str)) or ("GET",)
        elif method == "websocket":
            methods = ("WS",)
        else:
            methods = (method.upper(),)
        deps = self.dependencies_in(decorator.keyword("dependencies"), module, "route")
        for param in fn.params:
            deps.extend(self.param_dependencies(param, module, "param"))
        rate_limits = tuple(d.text for d in fn.decorators
                            if d is not decorator and RATE_LIMIT_NAME.search(d.text.split("(")[0] + " " + d.name))
        response_model = decorator.keyword("response_model")
        ref = FunctionRef(module.path, module.module, fn.qualname, fn.def_line or fn.line, fn.is_async)
        self.declarations.append(RouteDecl(
            key, methods, path, known, ref, tuple(deps), rate_limits,
            response_model.text if response_model else (fn.returns.text if fn.returns else ""),
            Location(module.path, decorator.line or fn.line)))

    def route_from_call(self, call, module: ModuleSummary) -> None:
        obj_written = call.callee.rpartition(".")[0]
        key = self.object_key(module, call.scope, obj_written, call.name.rpartition(".")[0])
        if key is None or key not in self.routers:
            return
        path, known = self.text_of(call.args[0] if call.args else call.keyword("path"), module)
        endpoint = call.args[1] if len(call.args) > 1 else call.keyword("endpoint")
        methods_value = call.keyword("methods")
        methods = tuple(m.const.upper() for m in (methods_value.items if methods_value else ())
                        if isinstance(m.const, str)) or ("GET",)
        ref = self.function_ref(endpoint, module, call.scope)
        deps = self.dependencies_in(call.keyword("dependencies"), module, "route")
        if ref is not None:
            found = self.project.function(f"{ref.module}.{ref.qualname}")
            if found is not None:
                for param in found[1].params:
                    deps.extend(self.param_dependencies(param, found[0], "param"))
        self.declarations.append(RouteDecl(key, methods, path, known, ref, tuple(deps), (), "",
                                           Location(module.path, call.line)))

    def include_from_call(self, call, module: ModuleSummary, method: str) -> None:
        obj_written = call.callee.rpartition(".")[0]
        parent = self.object_key(module, call.scope, obj_written, call.name.rpartition(".")[0])
        if parent is None or parent not in self.routers:
            return
        if method == "include_router":
            child_value = call.args[0] if call.args else call.keyword("router")
            prefix_value = call.keyword("prefix")
        else:
            child_value = call.args[1] if len(call.args) > 1 else call.keyword("app")
            prefix_value = call.args[0] if call.args else call.keyword("path")
        if child_value is None or child_value.kind not in ("name", "attr"):
            return
        prefix, known = self.text_of(prefix_value, module)
        deps = self.dependencies_in(call.keyword("dependencies"), module, "include")
        loop = self.enclosing_loop(module, call, child_value.text)
        candidates = list(self.expand(loop.iterable, module)) if loop is not None else [child_value]
        for candidate in candidates:
            child = self.object_key(module, call.scope, candidate.text, candidate.name)
            if child is None or child not in self.routers:
                if method == "include_router":
                    self.notes.append(f"{module.path}:{call.line}: included router "
                                      f"{candidate.text} not resolved")
                continue
            self.includes.append(Include(parent, child, prefix, known, tuple(deps),
                                         Location(module.path, call.line), method))

    @staticmethod
    def enclosing_loop(module: ModuleSummary, call, variable: str):
        for loop in module.loops:
            if loop.scope == call.scope and loop.target == variable and loop.line <= call.line <= loop.end_line:
                return loop
        return None

    def expand(self, value: Value | None, module: ModuleSummary, depth: int = 0):
        """Router references inside `[a.router, *more_routers]`, following list names."""
        if value is None or depth > 4:
            return
        if value.kind in ("list", "tuple", "set", "starred"):
            for item in value.items:
                yield from self.expand(item, module, depth + 1)
        elif value.kind in ("name", "attr"):
            fact = self.project.assignment(module, "", value.text) if "." not in value.text else None
            if fact is not None and fact.value is not None and fact.value.kind in ("list", "tuple", "set"):
                yield from self.expand(fact.value, module, depth + 1)
            else:
                yield value

    # -- full URLs ---------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        by_router: dict[str, list[RouteDecl]] = {}
        for decl in self.declarations:
            by_router.setdefault(decl.router, []).append(decl)
        children: dict[str, list[Include]] = {}
        for include in self.includes:
            children.setdefault(include.parent, []).append(include)
        included = {include.child for include in self.includes}
        apps = [key for key, router in sorted(self.routers.items()) if router.kind == "app"]
        out: list[Endpoint] = []

        def visit(key: str, app: str, prefix: str, known: bool, chain: tuple[str, ...],
                  includes: tuple[Location, ...], deps: tuple[Dependency, ...]) -> None:
            router = self.routers[key]
            own_prefix = prefix + router.prefix
            own_known = known and router.prefix_known
            own_deps = deps + router.dependencies
            for decl in by_router.get(key, ()):
                for method in decl.methods:
                    out.append(Endpoint(
                        method, join_url(own_prefix, decl.path), own_known and decl.path_known,
                        decl.handler, app, chain, includes, own_deps + decl.dependencies,
                        decl.rate_limits, decl.response_model, decl.location))
            for include in children.get(key, ()):
                if include.child in chain:
                    continue  # a cycle of includes; FastAPI itself would recurse forever
                visit(include.child, app, own_prefix + include.prefix, own_known and include.prefix_known,
                      chain + (include.child,), includes + (include.location,), own_deps + include.dependencies)

        for app in apps:
            visit(app, app, "", True, (app,), (), ())
        mounted = {key for endpoint in out for key in endpoint.chain}
        # Routers no app includes: listed so nothing is invisible, marked by app "". Their
        # includes of routers an app already serves are not listed again.
        for key in sorted(self.routers):
            if self.routers[key].kind != "app" and key not in included:
                start = len(out)
                visit(key, "", "", True, (key,), (), ())
                out[start:] = [e for e in out[start:] if e.chain[-1] not in mounted]
        return sorted(out, key=lambda e: (e.url, e.method, e.location.path, e.location.line))

    def build(self) -> RouteModel:
        self.collect_objects()
        self.collect_routes()
        return RouteModel(tuple(sorted(self.routers.values(), key=lambda r: r.key)),
                          tuple(self.includes), tuple(self.declarations), tuple(self.endpoints()),
                          tuple(self.notes))


def build_routes(project, resolve_text=None) -> RouteModel:
    return RouteBuilder(project, resolve_text).build()
