"""The Project: every module summary plus the cross-file facts rules ask for.

Cross-file facts (routes, ORM, settings, deployment, call graph) are computed lazily on
first use and then kept, so an audit that runs no rule needing routes never builds them.
The model never imports rules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from prodaudit.config import Config
from prodaudit.discover import Discovery, SourceFile
from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, ClassFact, FunctionFact, ModuleSummary


@dataclass(frozen=True)
class WorkerCount:
    count: int | None  # None: unknown
    location: Location | None
    source: str  # "--workers 4 in Dockerfile CMD", or why it is unknown

    @property
    def several(self) -> bool:
        return self.count is not None and self.count > 1


class model_property(cached_property):
    """A cross-file model: built on first use, then kept (a cached_property), and the time
    its build took added to `project.model_seconds` so --profile can tell model time from
    rule time however the builds interleave with the rules that trigger them. Only the
    outermost build is timed: a model built inside another is part of that build."""

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        outermost = instance._models_building == 0
        instance._models_building += 1
        started = time.perf_counter()
        try:
            return super().__get__(instance, owner)
        finally:
            instance._models_building -= 1
            if outermost:
                instance.model_seconds += time.perf_counter() - started


@dataclass
class Project:
    root: Path
    discovery: Discovery
    config: Config
    modules: dict[str, ModuleSummary] = field(default_factory=dict)  # by path
    # Seconds spent building models so far (see model_property).
    model_seconds: float = field(default=0.0, compare=False, repr=False)
    _models_building: int = field(default=0, compare=False, repr=False)
    # Values several rules derive alike, computed once: see shared().
    _shared: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)
    _summaries_memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _texts: dict[str, str | None] = field(default_factory=dict, init=False, repr=False, compare=False)
    # Symbol lookups by dotted name; they depend on `modules` alone.
    _split_memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _resolve_memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def shared(self, key: str, compute):
        """`compute()`, once per audit for this key: for what several rules derive the same
        way from the model (the event-loop blocks behind PA201, PA202 and PA206)."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]

    # -- files -----------------------------------------------------------------------
    def files_of_kind(self, *kinds: str) -> list[SourceFile]:
        return self.discovery.of_kind(*kinds)

    def summaries(self, *kinds: str) -> list[ModuleSummary]:
        """Parsed module summaries, by path order; all kinds when none are given."""
        return list(self._summaries_of_kinds(kinds))

    def _summaries_of_kinds(self, kinds: tuple[str, ...]) -> list[ModuleSummary]:
        # Asked a thousand times per audit; `modules` is filled once, when the Project is
        # made, so the sorted lists are kept (rebuilt should the number of modules change).
        if self._summaries_memo.get("count") != len(self.modules):
            self._summaries_memo.clear()
            self._summaries_memo["count"] = len(self.modules)
        if kinds not in self._summaries_memo:
            self._summaries_memo[kinds] = [m for _, m in sorted(self.modules.items())
                                           if not kinds or m.kind in kinds]
        return self._summaries_memo[kinds]

    def read_text(self, path: str) -> str | None:
        """A file of the tree as text, or None when it cannot be read. Kept: several rules
        search every source file (PA404 once per secret-looking default)."""
        if path not in self._texts:
            try:
                self._texts[path] = (self.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                self._texts[path] = None
        return self._texts[path]

    @cached_property
    def _lines(self) -> dict[str, list[str]]:
        return {}

    def line(self, path: str, line: int) -> str:
        """One source line, stripped; "" when out of range or unreadable."""
        if path not in self._lines:
            text = self.read_text(path)
            self._lines[path] = text.splitlines() if text is not None else []
        lines = self._lines[path]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    # -- symbols ---------------------------------------------------------------------
    @model_property
    def modules_by_name(self) -> dict[str, ModuleSummary]:
        """Every dotted suffix of every module path -> the module (unique suffixes only).

        `backend/app/crud/anime.py` is reachable as backend.app.crud.anime, app.crud.anime,
        crud.anime and anime, so imports written from any source root resolve.
        """
        candidates: dict[str, list[ModuleSummary]] = {}
        root_packages = self._root_package_names()
        for summary in self.modules.values():
            base = summary.module.split(".") if summary.module else []
            for root_package in root_packages:
                name = ".".join([root_package, *base])
                candidates.setdefault(name, []).append(summary)
            parts = base
            for start in range(len(parts)):
                candidates.setdefault(".".join(parts[start:]), []).append(summary)
        resolved = {}
        for name, found in candidates.items():
            if len(found) == 1:
                resolved[name] = found[0]
            else:
                # Prefer the exact full path, then source over tests.
                exact = [m for m in found if m.module == name]
                sources = [m for m in found if m.kind == "source"]
                if exact:
                    # pkg/x/__init__.py and pkg/x.py both claim pkg.x: Python imports the
                    # package, so the module file is shadowed (and unreachable).
                    packages = [m for m in exact if m.is_package]
                    resolved[name] = (packages or exact)[0]
                elif len(sources) == 1:
                    resolved[name] = sources[0]
        return resolved

    def _root_package_names(self) -> list[str]:
        """Names the audited directory is imported by when it is itself a package (its
        __init__.py at the root): `from samokoder.api.routers import auth` in a checkout
        named Samokoder. Taken from imports whose first part names no project module while
        the rest does, seen at least three times."""
        if not (self.root / "__init__.py").is_file():
            return []
        paths = {m.module for m in self.modules.values()}
        counts: dict[str, int] = {}
        for summary in self.modules.values():
            for fact in summary.imports:
                head, _, rest = fact.target.partition(".")
                if rest and head not in paths and any(
                        rest == p or rest.startswith(p + ".") for p in (rest, rest.rsplit(".", 1)[0]) if p in paths):
                    counts[head] = counts.get(head, 0) + 1
        return sorted(name for name, count in counts.items() if count >= 3)

    def module_named(self, dotted: str) -> ModuleSummary | None:
        return self.modules_by_name.get(dotted)

    def split_symbol(self, dotted: str) -> tuple[ModuleSummary, str] | None:
        """"app.crud.anime.get_list" -> (module app/crud/anime.py, "get_list")."""
        if dotted in self._split_memo:
            return self._split_memo[dotted]
        found = self._split_memo[dotted] = self._split_symbol(dotted)
        return found

    def _split_symbol(self, dotted: str) -> tuple[ModuleSummary, str] | None:
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self.module_named(".".join(parts[:cut]))
            if module is not None:
                return module, ".".join(parts[cut:])
        return None

    def function(self, dotted: str) -> tuple[ModuleSummary, FunctionFact] | None:
        found = self.split_symbol(dotted)
        if found is None:
            return None
        module, rest = found
        fn = module.function(rest)
        return (module, fn) if fn else None

    def resolve_symbol(self, dotted: str, depth: int = 0) -> tuple[ModuleSummary, str] | None:
        """Like split_symbol, but follows re-exports: when the module only imports the name
        (`from app.routers.favorites import router`), continue to where it is defined."""
        if depth == 0:  # asked ~100,000 times per audit, for far fewer names
            if dotted not in self._resolve_memo:
                self._resolve_memo[dotted] = self._resolve_symbol(dotted, 0)
            return self._resolve_memo[dotted]
        return self._resolve_symbol(dotted, depth)

    def _resolve_symbol(self, dotted: str, depth: int) -> tuple[ModuleSummary, str] | None:
        found = self.split_symbol(dotted)
        if found is None or depth > 6:
            return found
        module, name = found
        head = name.split(".")[0]
        if self.assignment(module, "", head) or module.function(head) or self.class_named(module, head):
            return found
        for fact in module.imports:
            if fact.local == head and not fact.in_function:
                rest = name[len(head):]
                deeper = self.resolve_symbol(fact.target + rest, depth + 1)
                return deeper or found
        return found

    def assignment(self, module: ModuleSummary, scope: str, name: str) -> AssignFact | None:
        """The last assignment of `name` in `scope` or, failing that, an enclosing scope."""
        scopes = [scope]
        while scope:
            scope = scope.rpartition(".")[0]
            scopes.append(scope)
        for candidate in scopes:
            found = module.last_assignment(candidate, name)
            if found is not None:
                return found
        return None

    def class_named(self, module: ModuleSummary, qualname: str) -> ClassFact | None:
        return module.class_fact(qualname)

    # -- cross-file models, built on first use -------------------------------------------
    def build_models(self) -> None:
        """Build the cross-file models the inventory shows, now (they are lazy). An audit
        does not call this: its rules build the models they ask for, and model_property
        keeps the time apart for --profile."""
        for name in ("routes", "callgraph", "bot_handlers", "background", "entry_points",
                     "singletons", "deployment", "dependencies", "workers", "settings",
                     "startup_requirements", "orm"):
            getattr(self, name)

    @model_property
    def routes(self):
        from prodaudit.model.routes import build_routes

        return build_routes(self, resolve_text=self.constant_text)

    def constant_text(self, value, module: ModuleSummary) -> str | None:
        """A string constant behind a name (`API_PREFIX`, `settings.API_V1_STR`), or None."""
        resolved = self.constant(value, module)
        if isinstance(resolved, str):
            return resolved
        settled = self.settings.resolve(value, module)
        return settled.value if settled.known and isinstance(settled.value, str) else None

    @model_property
    def orm(self):
        from prodaudit.model.orm import build_orm

        return build_orm(self)

    @model_property
    def queries(self):
        """ORM statements per function, their models and request reachability."""
        from prodaudit.model.queries import build_queries

        return build_queries(self)

    @model_property
    def settings(self):
        from prodaudit.model.settings import build_settings

        return build_settings(self)

    def constant(self, value, module: ModuleSummary, depth: int = 0):
        """Literal value behind a simple expression, following module constants; None if unknown."""
        if value is None or depth > 6:
            return None
        if value.kind == "const":
            return value.const
        if value.kind in ("name", "attr"):
            if "." not in value.text:
                fact = self.assignment(module, "", value.text)
                if fact is not None:
                    return self.constant(fact.value, module, depth + 1)
            found = self.resolve_symbol(value.name) if value.name != value.text or "." in value.name else None
            if found is not None:
                target, name = found
                fact = self.assignment(target, "", name)
                if fact is not None:
                    return self.constant(fact.value, target, depth + 1)
        return None

    @model_property
    def callgraph(self):
        from prodaudit.model.callgraph import CallGraph

        return CallGraph(self)

    @model_property
    def objects(self):
        """Which library object (httpx client, Session, Redis...) a name is bound to."""
        from prodaudit.model.objects import ObjectResolver

        return ObjectResolver(self)

    @model_property
    def bot_handlers(self):
        from prodaudit.model.bots import build_bot_handlers

        return build_bot_handlers(self)

    @model_property
    def background(self):
        from prodaudit.model.background import build_background

        return build_background(self)

    @model_property
    def shutdown(self):
        from prodaudit.model.shutdown import build_shutdown

        return build_shutdown(self)

    @model_property
    def symbols(self):
        from prodaudit.model.symbols import Symbols

        return Symbols(self)

    @model_property
    def signature_mismatches(self):
        from prodaudit.model.signatures import Signatures

        return Signatures(self, self.symbols).mismatches()

    @model_property
    def entry_points(self) -> dict[str, str]:
        """Function key -> label of how it is entered ("POST /auth/login", "bot message ...",
        "startup hook"), for reachability questions."""
        entries: dict[str, str] = {}
        for endpoint in self.routes.endpoints:
            if endpoint.handler is not None:
                entries.setdefault(endpoint.handler.key, endpoint.label)
        for handler in self.bot_handlers:
            entries.setdefault(handler.function, handler.label)
        for job in self.background.jobs:
            if job.target in self.callgraph.nodes:
                entries.setdefault(job.target, f"{job.kind} started at {job.location}")
        return entries

    @model_property
    def security(self):
        from prodaudit.model.security import build_security

        return build_security(self)

    @model_property
    def singletons(self):
        from prodaudit.model.state import build_singletons

        return build_singletons(self, self.entry_points)

    def rate_limits_of(self, endpoint) -> tuple[str, ...]:
        """How an endpoint is rate limited: limiter decorators, limiter dependencies, and
        calls to limiter-like objects in the handler or the functions it calls directly."""
        from prodaudit.model.routes import RATE_LIMIT_NAME

        found = list(endpoint.rate_limits)
        found += sorted({d.target.rsplit(".", 1)[-1] for d in endpoint.dependencies if d.is_rate_limit})
        if endpoint.handler is not None:
            graph = self.callgraph
            keys = [endpoint.handler.key] + [e.callee for e in graph.callees(endpoint.handler.key)]
            for key in keys:
                node = graph.nodes.get(key)
                if node is None:
                    continue
                for call in node.module.calls_in(node.fact.qualname):
                    if RATE_LIMIT_NAME.search(call.callee):
                        found.append(f"{call.callee}() at {node.module.path}:{call.line}")
        return tuple(dict.fromkeys(found))

    @model_property
    def deployment(self):
        from prodaudit.model.deploy import read_deployment

        # Every file: a CMD may run a Python script (run_server.py calling uvicorn.run).
        return read_deployment(self.root, [f.path for f in self.discovery.files])

    @model_property
    def dependencies(self):
        from prodaudit.model.dependencies import read_dependencies

        files = [f.path for f in self.discovery.files if f.kind in ("deploy", "config")]
        return read_dependencies(self.root, files)

    @model_property
    def workers(self) -> WorkerCount:
        """How many processes serve the web app, and the file:line that says so."""
        count, server = self.deployment.max_workers()
        workload = self._app_workload()
        pods = (workload.max_replicas or workload.replicas) if workload else None
        if pods and pods > 1:
            # Each pod runs the server's workers: processes = workers x pods.
            scale = (f"k8s {workload.name}: {workload.replicas} replicas"
                     + (f", autoscaled up to {workload.max_replicas}" if workload.max_replicas else ""))
            where = workload.max_replicas_location or workload.replicas_location or workload.location
            per_pod = count or 1
            server_part = f"{server.workers_source} x " if server is not None and count else ""
            return WorkerCount(per_pod * pods, where, f"{server_part}{scale}")
        if server is None:
            return WorkerCount(None, None, "no web server command found in Dockerfile, compose, "
                                           "Procfile, gunicorn config, k8s or scripts")
        replicas = f" x {server.replicas} replicas" if server.replicas else ""
        return WorkerCount(count, server.workers_location or server.location,
                           f"{server.workers_source}{replicas}")

    def _app_workload(self):
        """The k8s workload that runs this project's image (named like the app), if any."""
        hints = ("backend", "api", "app", "web", "server", self.root.name.lower())
        candidates = [w for w in self.deployment.k8s
                      if any(any(h and h in image.split("/")[-1].split(":")[0].lower() for h in hints)
                             for image in w.images)]
        return max(candidates, key=lambda w: w.max_replicas or w.replicas or 0, default=None)

    def extra_inventory(self) -> dict[str, object]:
        """Inventory sections of the deployment, dependency and security models."""
        from prodaudit.report.model_json import (
            dependencies_json,
            deployment_json,
            orm_json,
            settings_json,
            to_json,
        )

        return {"deployment": deployment_json(self), "dependencies": dependencies_json(self),
                "settings": settings_json(self), "orm": orm_json(self),
                "security_practices": to_json(self.security.good_practices())}

    @model_property
    def startup_requirements(self):
        from prodaudit.model.startup import startup_requirements

        return startup_requirements(self)
