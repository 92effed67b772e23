"""Architectural layers of the project's modules: presentation, service, data access.

Inferred from folder names (and the file's own name: `app/crud.py` is data access), the
deepest matching part winning, so `api/services/billing.py` is a service. A project can
declare its own layers in `[tool.prodaudit.layers]` of pyproject.toml (or a `[layers]`
table of prodaudit.toml), each layer a list of folder names or path globs:

    [tool.prodaudit.layers]
    presentation = ["app/http"]
    service = ["app/core/logic/*"]
    data = ["storage"]

Declared patterns win over inferred names; layers not declared keep their default names.
LayerAnalysis then says, per router (APIRouter, or module of bot handlers), which calls
its handlers make into the service layer and which straight into data access.

The table is read here rather than in config.py so that config stays a list of engine
settings; config.KNOWN_KEYS needs the key "layers" so it is not warned about as unknown.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from prodaudit.findings import Location
from prodaudit.model.health import concept

PRESENTATION, SERVICE, DATA = "presentation", "service", "data"
LAYERS = (PRESENTATION, SERVICE, DATA)
DEFAULT_NAMES = {
    PRESENTATION: ("routers", "router", "routes", "api", "endpoints", "handlers", "views"),
    SERVICE: ("services", "service", "use_cases", "usecases", "application", "domain",
              "interactors"),
    DATA: ("crud", "repositories", "repository", "repos", "dal", "dao", "db", "models"),
}
LABELS = {PRESENTATION: "presentation", SERVICE: "service layer", DATA: "data access"}
# Names that are also used for a whole application package (`application/routers/...`):
# such a folder is the service layer only when it holds no presentation code itself.
AMBIGUOUS = frozenset({"application", "domain"})


@dataclass(frozen=True)
class LayerRules:
    declared: tuple[tuple[str, tuple[str, ...]], ...]  # layer -> patterns from config
    source: str  # where the declaration was read, "" when inferred only
    # Folders named like a layer that are really package roots ("src/application").
    package_roots: frozenset[str] = frozenset()

    def with_package_roots(self, paths) -> LayerRules:
        """Mark `application`/`domain` folders that contain presentation folders as
        package roots, not service layers."""
        roots = set()
        for path in paths:
            parts = path.split("/")[:-1]
            for index, part in enumerate(parts):
                if part.lower() in AMBIGUOUS and any(
                        later.lower() in DEFAULT_NAMES[PRESENTATION] for later in parts[index + 1:]):
                    roots.add("/".join(parts[: index + 1]))
        return LayerRules(self.declared, self.source, frozenset(roots))

    def patterns(self, layer: str) -> tuple[str, ...]:
        for name, patterns in self.declared:
            if name == layer:
                return patterns
        return ()

    def layer_of(self, path: str) -> str:
        """The layer of a module path ("" when none), declared patterns first."""
        parts = path.split("/")
        stem = parts[-1].removesuffix(".py")
        names = [*parts[:-1], stem] if stem != "__init__" else parts[:-1]
        best, depth = "", -1
        for layer, patterns in self.declared:
            for pattern in patterns:
                hit = _pattern_depth(pattern, path, names)
                if hit > depth:
                    best, depth = layer, hit
        if best:
            return best
        declared = {name for name, _ in self.declared}
        for index, name in enumerate(names):
            if name.lower() in AMBIGUOUS and "/".join(parts[: index + 1]) in self.package_roots:
                continue
            for layer in LAYERS:
                if layer not in declared and name.lower() in DEFAULT_NAMES[layer] and index >= depth:
                    best, depth = layer, index
        return best


def _pattern_depth(pattern: str, path: str, names: list[str]) -> int:
    """How deep in the path a pattern matches (-1: no match). A pattern with "/" or a
    wildcard matches path prefixes; a plain word matches one folder name."""
    pattern = pattern.strip().strip("/")
    if not pattern:
        return -1
    if "/" in pattern or any(c in pattern for c in "*?["):
        parts = path.split("/")
        for cut in range(len(parts), 0, -1):
            prefix = "/".join(parts[:cut])
            if fnmatch.fnmatch(prefix, pattern) or fnmatch.fnmatch(prefix.removesuffix(".py"), pattern):
                return cut - 1
        return -1
    for index in range(len(names) - 1, -1, -1):
        if names[index] == pattern:
            return index
    return -1


def read_layer_rules(root: Path) -> LayerRules:
    """`layers` from prodaudit.toml (top level or [tool.prodaudit]) or pyproject.toml's
    [tool.prodaudit]; the same files, in the same order, that config.py reads."""
    base = root if root.is_dir() else root.parent
    for name in ("prodaudit.toml", "pyproject.toml"):
        path = base / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return LayerRules((), "")
        table = data.get("tool", {}).get("prodaudit")
        if table is None and name == "prodaudit.toml":
            table = data
        if name == "prodaudit.toml" or isinstance(table, dict):
            layers = table.get("layers") if isinstance(table, dict) else None
            return LayerRules(_declared(layers), f"{name} [layers]" if layers else "")
    return LayerRules((), "")


def _declared(layers: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(layers, dict):
        return ()
    aliases = {"presentation": PRESENTATION, "api": PRESENTATION, "routers": PRESENTATION,
               "service": SERVICE, "services": SERVICE, "use_cases": SERVICE,
               "data": DATA, "data_access": DATA, "data-access": DATA, "crud": DATA,
               "repositories": DATA}
    declared = []
    for key, value in sorted(layers.items()):
        layer = aliases.get(str(key).lower())
        if layer is None:
            continue
        patterns = (value,) if isinstance(value, str) else tuple(v for v in value if isinstance(v, str)) \
            if isinstance(value, list) else ()
        if patterns:
            declared.append((layer, patterns))
    return tuple(declared)


# -- which routers go through the service layer --------------------------------------
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
