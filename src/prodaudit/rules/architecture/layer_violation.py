from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.layers import DATA, LABELS, PRESENTATION, SERVICE, read_layer_rules
from prodaudit.rules.architecture.inconsistent_health import concept
from prodaudit.rules.base import ProjectRule, RuleMeta, register

SESSION_CLASSES = re.compile(r"(^|\.)(Async)?Session$")
# Session methods that read or write rows; commit/rollback/refresh are transaction
# control, which many layered designs deliberately leave to the route.
SESSION_QUERIES = frozenset({"execute", "scalars", "scalar", "get", "add", "add_all", "delete",
                             "merge", "query", "exec", "stream", "stream_scalars"})
DATA_PARAMETER = re.compile(r"(session|^db$|_db$|repo|repository|port$|uow|unit_of_work|dao|"
                            r"store|conn)", re.IGNORECASE)
DATA_ANNOTATION = re.compile(r"(Session|Repository|Repo|Port|UnitOfWork|Connection)\b")
# Class names that say the layer, for projects without layered folders.
DATA_CLASS = re.compile(r"(Repository|Repo|DAO|Dao|Crud|CRUD)$")
SERVICE_CLASS = re.compile(r"(Service|UseCase|Interactor)$")


@dataclass(frozen=True)
class LayerCall:
    handler: str  # qualname of the route handler the call is made for
    target: str  # what is called, as a short name
    target_path: str
    location: Location
    inline_query: bool = False  # session.execute(...) in the router itself


@dataclass
class RouterUsage:
    key: str  # the APIRouter's key for routes; the module for bot handlers
    path: str
    name: str
    location: Location
    direct: list[LayerCall] = field(default_factory=list)
    via_services: list[LayerCall] = field(default_factory=list)


class LayerAnalysis:
    def __init__(self, project):
        self.project = project
        self.graph = project.callgraph
        self.rules = read_layer_rules(project.root).with_package_roots(
            m.path for m in project.summaries("source"))
        self._layers: dict[str, str] = {}
        self._handles_data: dict[str, bool] = {}
        routes = project.routes
        self.router_of: dict[str, str] = {}  # handler key -> declaring router key
        for decl in routes.declarations:
            if decl.handler is not None:
                self.router_of.setdefault(decl.handler.key, decl.router)
        self.routers_by_key = {r.key: r for r in routes.routers}

    def module_layer(self, path: str) -> str:
        if path not in self._layers:
            self._layers[path] = self.rules.layer_of(path)
        return self._layers[path]

    def layer(self, node) -> str:
        """A function's layer: its folder's, unless it is a method of a class whose name
        says what it is (`BookRepository`, `OrderService`) in a module without one."""
        folder = self.module_layer(node.module.path)
        if folder in (SERVICE, DATA) or self.rules.declared:
            return folder
        owner = node.fact.class_name.rsplit(".", 1)[-1]
        if owner and DATA_CLASS.search(owner):
            return DATA
        if owner and SERVICE_CLASS.search(owner):
            return SERVICE
        return folder

    def entries(self) -> list[str]:
        """Route handlers (health checks left out: a `SELECT 1` probe is not a layer
        question) and bot handlers; in presentation folders when the project has any."""
        keys = {e.handler.key for e in self.project.routes.endpoints
                if e.handler is not None and not concept(e.url)}
        keys |= {h.function for h in self.project.bot_handlers}
        nodes = [self.graph.nodes[k] for k in sorted(keys) if k in self.graph.nodes]
        nodes = [n for n in nodes if self.module_layer(n.module.path) not in (SERVICE, DATA)]
        layered = [n for n in nodes if self.module_layer(n.module.path) == PRESENTATION]
        return [n.key for n in (layered if layered or self.rules.declared else nodes)]

    def routers(self) -> list[RouterUsage]:
        usages: dict[str, RouterUsage] = {}
        for key in self.entries():
            node = self.graph.nodes[key]
            router_key = self.router_of.get(key, node.module.module)
            usage = usages.get(router_key)
            if usage is None:
                router = self.routers_by_key.get(router_key)
                usage = usages[router_key] = RouterUsage(
                    router_key, node.module.path, "/".join(node.module.path.split("/")[-2:]),
                    router.location if router else node.location)
            self.collect(node, usage)
        found = sorted(usages.values(), key=lambda u: (u.path, u.location.line))
        # Several routers in one file: name them by file and variable.
        paths = [u.path for u in found]
        for usage in found:
            if paths.count(usage.path) > 1:
                usage.name = f"{usage.name}:{usage.key.rsplit(':', 1)[-1]}"
        return found

    def collect(self, handler, usage: RouterUsage) -> None:
        """Calls made for one handler: its own and those of helpers in the same module."""
        seen = {handler.key}
        queue = deque([handler])
        while queue:
            node = queue.popleft()
            for edge in self.graph.callees(node.key):
                if edge.kind not in ("call", "thread", "task"):
                    continue
                callee = self.graph.nodes.get(edge.callee)
                if callee is None:
                    continue
                if self.layer(callee) in (SERVICE, DATA):
                    self.classify(handler, callee, edge.location, usage)
                elif callee.module.path == node.module.path and edge.callee not in seen:
                    seen.add(edge.callee)
                    queue.append(callee)
            for call, callee in self.parameter_calls(node):
                if callee is not None:
                    self.classify(handler, callee, Location(node.module.path, call.line), usage)
                else:
                    usage.direct.append(LayerCall(handler.fact.qualname, call.callee, node.module.path,
                                                  Location(node.module.path, call.line), inline_query=True))

    def classify(self, handler, callee, location: Location, usage: RouterUsage) -> None:
        layer = self.layer(callee)
        target = callee.fact.qualname
        if target.endswith(".__init__"):
            target = target[: -len(".__init__")]
            if layer == DATA:
                return  # constructing a model or repository object is not a call into it
        call = LayerCall(handler.fact.qualname, target, callee.module.path, location)
        if layer == DATA:
            usage.direct.append(call)
        elif layer == SERVICE and self.handles_data(callee.key):
            usage.via_services.append(call)

    def parameter_calls(self, node):
        """Calls on the handler's parameters: `service.place(...)` on a parameter annotated
        with a project class (FastAPI injects it), and `session.execute(...)` on a
        SQLAlchemy session parameter (a query written in the router). Yields (call, callee
        node or None for an inline query)."""
        params = {}
        for param in node.fact.params:
            annotation = param.annotation
            if annotation is not None and annotation.kind == "subscript" and annotation.items:
                annotation = annotation.items[0]  # Annotated[Service, Depends(...)]
            if annotation is not None and annotation.kind in ("name", "attr"):
                params[param.name] = annotation
        if not params:
            return
        for call in node.module.calls:
            if call.scope != node.fact.qualname or call.callee.count(".") != 1:
                continue
            receiver, method = call.callee.split(".")
            annotation = params.get(receiver)
            if annotation is None:
                continue
            if SESSION_CLASSES.search(annotation.name) and annotation.name.startswith(("sqlalchemy", "sqlmodel")):
                if method in SESSION_QUERIES:
                    yield call, None
                continue
            found = self.graph.class_from_name(node.module, annotation.text, annotation.name)
            if found is not None:
                key = self.graph.method(found[0], found[1], method)
                callee = self.graph.nodes.get(key) if key else None
                if callee is not None:
                    yield call, callee

    def handles_data(self, key: str, depth: int = 0) -> bool:
        """A service function that works with stored data: it takes a session, repository
        or port (or its class is built with one), or reaches the data layer."""
        if key in self._handles_data:
            return self._handles_data[key]
        self._handles_data[key] = False
        node = self.graph.nodes[key]
        params = list(node.fact.params)
        if node.fact.class_name:
            init = node.module.function(f"{node.fact.class_name}.__init__")
            if init is not None:
                params += init.params
        found = any(DATA_PARAMETER.search(p.name) or (
            p.annotation is not None and DATA_ANNOTATION.search(p.annotation.text)) for p in params
            if p.name not in ("self", "cls"))
        if not found and depth < 3:
            for edge in self.graph.callees(key):
                callee = self.graph.nodes.get(edge.callee)
                if callee is None:
                    continue
                layer = self.layer(callee)
                if layer == DATA and not callee.fact.qualname.endswith("__init__"):
                    found = True
                elif callee.module.path != node.module.path and layer != SERVICE:
                    continue
                elif self.handles_data(edge.callee, depth + 1):
                    found = True
                if found:
                    break
        self._handles_data[key] = found
        return found


def names_phrase(names: list[str], limit: int = 3) -> str:
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]


def split_table(routers: list[RouterUsage]) -> str:
    rows = ["router | through the service layer | straight to data access"]
    for usage in routers:
        if not usage.direct and not usage.via_services:
            continue
        services = sorted({c.target.rsplit(".", 1)[-1] for c in usage.via_services})
        direct = sorted({c.target.rsplit(".", 1)[-1] for c in usage.direct})
        rows.append(f"{usage.name} | {', '.join(services[:4]) or '-'}"
                    f"{' ...' if len(services) > 4 else ''} | {', '.join(direct[:4]) or '-'}"
                    f"{' ...' if len(direct) > 4 else ''}")
    return "\n".join(rows)


@register
class LayerViolation(ProjectRule):
    """
    ## What it does
    Finds route modules that call the data-access layer (crud, repositories, a session
    query in the route) directly, in a project where other route modules go through a
    service layer (services, use cases) for their data. Layers come from folder names:
    routers/api/endpoints/handlers are presentation, services/use_cases/application/
    domain the service layer, crud/repositories/dal/db/models data access, or from
    `[tool.prodaudit.layers]`. One finding per offending router, with its direct calls
    and the routers that do it the project's way; the details carry the whole split.

    ## Why is this bad?
    The project has decided where business rules live, and half of the routes skip it:
    checks added to a service (permissions, invariants, cache invalidation, events) do
    not apply to the routes that write through crud directly, the logic of those routes
    cannot be tested without HTTP, and every reader has to learn two architectures.

    ## Example
    In a real project the layers are folders (`app/crud/`, `app/services/`,
    `app/routers/`); in one file, class names say the layer (`...Repository`,
    `...Service`). The orders router goes through the service, the books router does
    not:
    ```python
    from fastapi import APIRouter


    class BookRepository:
        def __init__(self, session):
            self.session = session

        async def list_books(self):
            return []


    class OrderService:
        def __init__(self, session):
            self.session = session

        async def list_orders(self, user_id):
            return []


    orders = APIRouter()
    books = APIRouter()


    @orders.get("/orders")
    async def list_orders(user_id: int):
        service = OrderService(None)
        return await service.list_orders(user_id)


    @books.get("/books")
    async def list_books():
        repository = BookRepository(None)
        return await repository.list_books()
    ```

    ## Use instead
    ```python
    from fastapi import APIRouter


    class BookRepository:
        def __init__(self, session):
            self.session = session

        async def list_books(self):
            return []


    class CatalogService:
        def __init__(self, session):
            self.books = BookRepository(session)

        async def list_books(self):
            return await self.books.list_books()


    books = APIRouter()


    @books.get("/books")
    async def list_books():
        service = CatalogService(None)
        return await service.list_books()
    ```

    Declare layers when folder names do not say them (a list of folder names or path
    globs per layer; declared patterns win):
    ```toml
    [tool.prodaudit.layers]
    presentation = ["app/http"]
    service = ["app/core/logic/*"]
    data = ["storage"]
    ```

    ## Known limitations
    Calls are followed by name through the call graph; a repository reached through an
    untyped injected object is not seen. No finding when the project has no service
    layer, or when no route module uses it for data: calling crud from routes is then
    the project's style, not a violation. Session transaction control in a route
    (commit, rollback) is not counted.
    """

    meta = RuleMeta(
        id="PA603", slug="layer-violation", family="architecture",
        dimension=Dimension.ARCHITECTURE, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="routers calling crud/repositories directly while other routers go through "
                "the service layer",
        effort_minutes=60,
        fix="Move the data access of these routes behind the service layer the other routers "
            "use (a use case or service function per operation), or declare the layers in "
            "[tool.prodaudit.layers] if this folder is not what it looks like.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        analysis = LayerAnalysis(project)
        routers = analysis.routers()
        clean = [r for r in routers if r.via_services and not r.direct]
        offenders = [r for r in routers if r.direct]
        if not clean or not offenders:
            return
        table = split_table(routers)
        for usage in offenders:
            first = min(usage.direct, key=lambda c: (c.location.line, c.target))
            evidence = []
            unique = {(c.location, c.target): c for c in usage.direct}
            for call in sorted(unique.values(), key=lambda c: (c.location.line, c.target))[:6]:
                what = (f"queries the database itself (`{call.target}`)" if call.inline_query
                        else f"calls {LABELS[DATA]} `{call.target}` ({call.target_path}) directly")
                evidence.append(Evidence(call.location, f"`{call.handler}` {what}"))
            for reference in clean[:3]:
                call = min(reference.via_services,
                           key=lambda c: (c.target.rsplit(".", 1)[-1][:1].isupper(), c.location.line))
                evidence.append(Evidence(call.location, f"{reference.name} goes through the "
                                                        f"{LABELS[SERVICE]}: `{call.target}` ({call.target_path})"))
            handlers = sorted({c.handler for c in usage.direct})
            mixed = " (it also uses the service layer elsewhere)" if usage.via_services else ""
            yield self.finding(
                f"Router {usage.path}{usage.name.partition(':')[1]}{usage.name.partition(':')[2]} "
                f"calls the data-access layer directly from "
                f"{len(handlers)} handler{'s' if len(handlers) != 1 else ''}{mixed}, while "
                f"{names_phrase([r.name for r in clean])} "
                f"{'goes' if len(clean) == 1 else 'go'} through the {LABELS[SERVICE]}",
                first.location,
                evidence=evidence,
                anchor=f"{usage.key}:layers",
                details={"direct_calls": len(usage.direct), "handlers": len(handlers),
                         "routers_through_services": len(clean),
                         "routers_straight_to_data": len(offenders),
                         "layers_from": analysis.rules.source or "folder names",
                         "split": table},
            )
