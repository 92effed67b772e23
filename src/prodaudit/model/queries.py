"""Cross-file view of the ORM statements the extractors recorded (orm_queries, orm_loops):
which function runs which query, on which model, reached from which request, and where
the rows a function returns come from.

Request paths are HTTP routes and bot handlers (not startup hooks or periodic jobs): a
query "in a request path" runs once per request or message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from prodaudit.findings import Evidence, Location
from prodaudit.model.extractors.orm_clauses import ColumnRef
from prodaudit.model.extractors.orm_loops import RowLoop
from prodaudit.model.extractors.orm_queries import QueryFact
from prodaudit.model.facts import FunctionFact, ModuleSummary
from prodaudit.model.values import Value

# Strategies that load a relationship with the parent query (or refuse to load it lazily).
EAGER = frozenset({"selectinload", "joinedload", "subqueryload", "contains_eager", "immediateload"})
REFUSES_LAZY = frozenset({"raiseload", "noload"})
MAX_RETURN_HOPS = 3


@dataclass(frozen=True)
class QuerySite:
    module: ModuleSummary
    fact: QueryFact

    @property
    def key(self) -> str:
        return f"{self.module.module}:{self.fact.scope}"

    @property
    def location(self) -> Location:
        return Location(self.module.path, self.fact.line)


@dataclass(frozen=True)
class LoopSite:
    module: ModuleSummary
    loop: RowLoop

    @property
    def key(self) -> str:
        return f"{self.module.module}:{self.loop.scope}"

    @property
    def location(self) -> Location:
        return Location(self.module.path, self.loop.line)


class QueryModel:
    def __init__(self, project):
        self.project = project
        self.sites: list[QuerySite] = []
        self.loops: list[LoopSite] = []
        for module in project.summaries("source"):
            self.sites.extend(QuerySite(module, fact) for fact in module.facts_of(QueryFact))
            self.loops.extend(LoopSite(module, loop) for loop in module.facts_of(RowLoop))
        self._by_line = {(s.module.path, s.fact.scope, s.fact.line): s for s in self.sites}

    # -- lookups ---------------------------------------------------------------------------
    def query_at(self, module: ModuleSummary, scope: str, line: int) -> QuerySite | None:
        return self._by_line.get((module.path, scope, line))

    def queries_of(self, key: str) -> list[QuerySite]:
        return [site for site in self.sites if site.key == key]

    def model_of(self, module: ModuleSummary, written: str, resolved: str = ""):
        """The ORM model a class reference names (`Book`, `models.Book`), following imports
        and re-exports; None when it is not a known model."""
        orm = self.project.orm
        candidates = []
        if resolved and resolved != written:
            found = self.project.resolve_symbol(resolved)
            if found is not None:
                candidates.append(f"{found[0].module}:{found[1]}")
                if self.project.class_named(found[0], found[1]) is not None \
                        and orm.model(candidates[0]) is None:
                    return None  # a project class that is not a model (a schema named alike)
        candidates.append(f"{module.module}:{written}")
        for key in candidates:
            model = orm.model(key)
            if model is not None:
                return model
        if self.project.class_named(module, written) is not None:
            return None
        return orm.model(written.rsplit(".", 1)[-1])

    def entity_model(self, site: QuerySite):
        """The model of a single-entity statement (`select(Book)`), else None."""
        entities = site.fact.entities
        if len(entities) != 1 or entities[0].kind not in ("name", "attr"):
            return None
        return self.model_of(site.module, entities[0].text, entities[0].name)

    def column_model(self, module: ModuleSummary, ref: ColumnRef):
        return self.model_of(module, ref.model, ref.model_name)

    # -- eager loading -------------------------------------------------------------------
    @staticmethod
    def loading_of(fact: QueryFact, model_name: str, attribute: str) -> str | None:
        """The loader option a statement sets for `model.attribute`: "selectinload",
        "raiseload"... or None. `*` wildcards count."""
        for option in fact.eager:
            for path in option.path:
                tail = path.strip("'\"")
                if tail == "*" or tail == attribute or tail.endswith("." + attribute):
                    head = tail.rsplit(".", 1)[0] if "." in tail else ""
                    if not head or head.rsplit(".", 1)[-1] == model_name or tail == "*":
                        return option.strategy
        return None

    # -- reachability ------------------------------------------------------------------------
    @cached_property
    def request_entries(self) -> dict[str, str]:
        entries: dict[str, str] = {}
        for endpoint in self.project.routes.endpoints:
            if endpoint.handler is not None:
                entries.setdefault(endpoint.handler.key, endpoint.label)
        for handler in self.project.bot_handlers:
            entries.setdefault(handler.function, handler.label)
        return entries

    @cached_property
    def request_reach(self) -> dict:
        return self.project.callgraph.reachable(self.request_entries,
                                                kinds=("call", "depends", "thread"))

    def reached(self, key: str) -> tuple[str, tuple] | None:
        return self.request_reach.get(key)

    def reach_evidence(self, key: str) -> list[Evidence]:
        found = self.reached(key)
        if found is None:
            return []
        label, path = found
        graph = self.project.callgraph
        where = path[0].location if path else graph.nodes[key].location if key in graph.nodes else None
        if where is None:
            return []
        return [Evidence(where, f"reached from {graph.describe_path(label, path)}")]

    def route_count(self, key: str) -> int:
        """How many request entries reach this function (for messages)."""
        graph = self.project.callgraph
        count = 0
        for entry, label in self.request_entries.items():
            if key == entry or key in graph.reachable({entry: label}, kinds=("call", "depends", "thread")):
                count += 1
        return count

    # -- where rows come from ------------------------------------------------------------------
    def function_of(self, module: ModuleSummary, scope: str) -> FunctionFact | None:
        return module.function(scope)

    def callee_key(self, module: ModuleSummary, scope: str, callee: str, line: int) -> str | None:
        """The project function a call at `line` resolves to."""
        for edge in self.project.callgraph.callees(f"{module.module}:{scope}"):
            if edge.line == line and edge.kind == "call":
                node = self.project.callgraph.nodes.get(edge.callee)
                if node is not None and node.fact.name == callee.rsplit(".", 1)[-1]:
                    return edge.callee
        return None

    def returned_rows(self, key: str, hops: int = 0) -> QuerySite | None:
        """The query whose rows (ORM instances, many) function `key` returns, following
        `return await other(...)` wrappers (repository methods delegating to crud)."""
        node = self.project.callgraph.nodes.get(key)
        if node is None or hops > MAX_RETURN_HOPS:
            return None
        returned = [s for s in self.queries_of(key) if s.fact.returned in ("many", "result")]
        if len(returned) == 1:
            site = returned[0]
            return site if site.fact.scalar_rows else None
        if returned:
            return None
        values = [v for v in node.fact.return_values if v is not None]
        if len(values) != 1:
            return None
        value: Value = values[0]
        while value.kind == "await" and value.items:
            value = value.items[0]
        if value.kind != "call":
            return None
        written = value.text.split("(")[0]
        target = self.callee_key(node.module, node.fact.qualname, written, value.line)
        return self.returned_rows(target, hops + 1) if target else None

    # -- the database server ----------------------------------------------------------------------
    @cached_property
    def dialect(self) -> str | None:
        """"postgresql", "mysql", "sqlite"... from the source engines' URLs, else from the
        database service in the deployment; None when unknown."""
        for engine in self.project.settings.engines():
            if engine.module_kind == "source" and engine.dialect:
                return engine.dialect.split("+")[0].replace("postgres", "postgresql").replace(
                    "postgresqlql", "postgresql")
        service = self.project.deployment.database_service()
        if service is not None:
            return {"postgres": "postgresql"}.get(service.kind, service.kind)
        return None

    @cached_property
    def driver(self) -> str | None:
        """"asyncpg", "psycopg", "psycopg2", "aiosqlite"... from the source engines' URLs."""
        for engine in self.project.settings.engines():
            if engine.module_kind == "source" and engine.dialect and "+" in engine.dialect:
                return engine.dialect.split("+", 1)[1]
        return None


def build_queries(project) -> QueryModel:
    return QueryModel(project)


def import_closure(project, modules: list[ModuleSummary]) -> set[str]:
    """Paths of the modules these import, directly or not (function-level imports too:
    a lazily imported database module still opens its pool in this process)."""
    seen: set[str] = set()
    stack = list(modules)
    while stack:
        module = stack.pop()
        if module.path in seen:
            continue
        seen.add(module.path)
        for fact in module.imports:
            target = project.module_named(fact.target)
            if target is None:
                found = project.split_symbol(fact.target)
                target = found[0] if found else None
            if target is not None and target.path not in seen:
                stack.append(target)
            # `from app import models` also runs app/__init__.py
            parent = fact.target.rpartition(".")[0]
            package = project.module_named(parent) if parent else None
            if package is not None and package.path not in seen:
                stack.append(package)
    return seen


def web_app_modules(project) -> list[ModuleSummary]:
    """Modules holding the ASGI/WSGI app the web server runs ("app.main:app"), else every
    module that creates a FastAPI/Starlette app."""
    found: list[ModuleSummary] = []
    for server in project.deployment.web_servers():
        dotted = server.app.split(":")[0].strip()
        module = project.module_named(dotted) if dotted else None
        if module is not None and module not in found:
            found.append(module)
    if found:
        return found
    for router in project.routes.routers:
        if router.kind == "app":
            module = project.module_named(router.key.split(":")[0])
            if module is not None and module not in found:
                found.append(module)
    return found
