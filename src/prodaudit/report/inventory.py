"""`prodaudit inventory`: the project model as tables (terminal) or a JSON document."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

import prodaudit
from prodaudit.findings import Location
from prodaudit.model.inventory import build_stats, external_hosts

INVENTORY_SCHEMA_VERSION = "1.0"


def _loc(location: Location | None) -> str:
    return str(location) if location is not None else ""


def _short(key: str) -> str:
    """'app.routers.auth:login' -> 'login' (keeps 'Limiter.hit'); 'app.auth.deps.user' -> 'user'."""
    return key.split(":", 1)[-1] if ":" in key else key.rsplit(".", 1)[-1]


def inventory_document(project) -> dict:
    routes = project.routes
    graph = project.callgraph
    document: dict = {
        "schema_version": INVENTORY_SCHEMA_VERSION,
        "tool": {"name": "prodaudit", "version": prodaudit.__version__},
        "root": project.root.name,
        "stats": [{"key": s.key, "label": s.label, "value": s.value, "method": s.method}
                  for s in build_stats(project)],
        "endpoints": [
            {
                "method": e.method, "url": e.url, "url_known": e.url_known,
                "handler": {"path": e.handler.path, "line": e.handler.line,
                            "function": e.handler.qualname, "async": e.handler.is_async}
                if e.handler else None,
                "declared_at": _loc(e.location),
                "mounted": bool(e.app),
                "auth": sorted({_short(d.target) for d in e.auth if d.level != "nested"}),
                "dependencies": sorted({_short(d.target) for d in e.dependencies}),
                "rate_limits": list(project.rate_limits_of(e)),
                "response_model": e.response_model,
                "includes": [_loc(i) for i in e.includes],
            }
            for e in routes.endpoints
        ],
        "bot_handlers": [
            {"framework": h.framework, "event": h.event, "filters": h.filters,
             "function": h.function, "location": _loc(h.location)}
            for h in project.bot_handlers
        ],
        "background": {
            "hooks": [{"kind": h.kind, "function": h.function, "registered_at": _loc(h.location)}
                      for h in project.background.hooks],
            "jobs": [{"kind": j.kind, "target": j.target, "started_at": _loc(j.location),
                      "reached_via": j.via, "loop": _loc(j.loop_location),
                      "lock_evidence": [_loc(x) for x in j.lock_evidence],
                      "handle": j.handle}
                     for j in project.background.jobs],
        },
        "singletons": [
            {"name": s.key, "location": _loc(s.location), "kind": s.kind, "class": s.class_name,
             "state": [{"attribute": a.name, "kind": a.kind, "location": _loc(a.location)} for a in s.state],
             "mutations": [{"function": m.function, "how": m.how, "location": _loc(m.location)}
                           for m in s.mutations],
             "reached_from": sorted({label for label, _, _ in s.reached_from}),
             "mutated_at_runtime": s.mutated_at_runtime}
            for s in project.singletons
        ],
        "external_hosts": [{"host": h.host, "locations": [_loc(x) for x in h.locations]}
                           for h in external_hosts(project)],
        "call_graph": {"functions": len(graph.nodes),
                       "edges": sum(len(v) for v in graph.edges_from.values()),
                       "method": "calls resolved by name: local, imported (through re-exports), "
                                 "self methods with project base classes, methods of module-level "
                                 "instances, self attributes and locals built from project classes, "
                                 "FastAPI Depends parameters"},
        "notes": sorted(routes.notes),
    }
    for name, section in project.extra_inventory().items():
        document[name] = section
    return document


def render_inventory_json(project) -> str:
    return json.dumps(inventory_document(project), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", box=None,
                  header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def render_inventory_terminal(project, console: Console) -> None:
    document = inventory_document(project)
    console.print(Text.assemble(("prodaudit inventory ", "bold"), (document["root"], "bold cyan")))
    stats = _table("Counts (each with its method; --format json for the methods)", "what", "value")
    for stat in document["stats"]:
        stats.add_row(stat["label"], str(stat["value"]))
    console.print(stats)

    endpoints = _table(f"Endpoints ({len(document['endpoints'])})", "method", "url", "handler",
                       "auth", "rate limit")
    for e in document["endpoints"]:
        handler = f"{e['handler']['path']}:{e['handler']['line']}" if e["handler"] else "?"
        url = e["url"] + ("" if e["mounted"] else "  (not mounted)")
        endpoints.add_row(e["method"], Text(url), Text(handler), Text(", ".join(e["auth"]) or "-"),
                          Text(", ".join(e["rate_limits"]) or "-"))
    console.print(endpoints)

    if document["bot_handlers"]:
        bots = _table(f"Bot handlers ({len(document['bot_handlers'])})", "event", "filters", "function", "where")
        for h in document["bot_handlers"]:
            bots.add_row(h["event"], Text(h["filters"]), Text(_short(h["function"])), h["location"])
        console.print(bots)

    background = document["background"]
    if background["hooks"] or background["jobs"]:
        jobs = _table("Background work", "kind", "what", "where", "loop", "distributed lock")
        for h in background["hooks"]:
            jobs.add_row(f"{h['kind']} hook", Text(_short(h["function"])), h["registered_at"], "", "")
        for j in background["jobs"]:
            jobs.add_row(j["kind"], Text(_short(j["target"])), j["started_at"], j["loop"],
                         ", ".join(j["lock_evidence"]) or ("none found" if j["kind"] != "background-task" else ""))
        console.print(jobs)

    if document["singletons"]:
        singles = _table("Module-level mutable state", "name", "where", "state", "mutated at run time from")
        for s in document["singletons"]:
            state = ", ".join(f"{a['attribute']}: {a['kind']}" for a in s["state"])
            reached = ", ".join(s["reached_from"][:3]) + (" ..." if len(s["reached_from"]) > 3 else "")
            singles.add_row(Text(s["name"]), s["location"], Text(state), Text(reached or "not at run time"))
        console.print(singles)

    if document["external_hosts"]:
        hosts = _table("External hosts (literal URLs)", "host", "first use", "uses")
        for h in document["external_hosts"]:
            hosts.add_row(h["host"], h["locations"][0], str(len(h["locations"])))
        console.print(hosts)
    render_model_sections(project, console)
    for note in document["notes"]:
        console.print(Text(f"note: {note}", style="dim"))


def render_model_sections(project, console: Console) -> None:
    """Deployment, database engines, startup requirements and dependencies as tables."""
    workers = project.workers
    console.print(Text.assemble(("Workers: ", "bold"), str(workers.count if workers.count is not None else "unknown"),
                                f"  ({workers.location}: {workers.source})" if workers.location else f"  ({workers.source})"))
    deployment = project.deployment
    if deployment.servers:
        servers = _table("Server processes", "server", "app", "workers", "where", "how the count was found")
        for server in deployment.servers:
            servers.add_row(server.server, Text(server.app), str(server.workers if server.workers is not None else "?"),
                            _loc(server.location), Text(server.workers_source))
        console.print(servers)
    if deployment.services:
        services = _table("Services (compose)", "name", "kind", "image", "healthcheck", "max_connections")
        for service in deployment.services:
            services.add_row(service.name, service.kind, Text(service.image or "(build)"),
                             "yes" if service.healthcheck else "no",
                             str(service.max_connections) if service.max_connections else "-")
        console.print(services)
    engines = [e for e in project.settings.engines() if e.module_kind == "source"]
    if engines:
        table = _table("Database engines", "where", "pool_size", "max_overflow", "pool_timeout", "source of pool_size")
        for engine in engines:
            table.add_row(_loc(engine.location), str(engine.pool_size.value), str(engine.max_overflow.value),
                          str(engine.pool_timeout.value), Text(engine.pool_size.source))
        console.print(table)
    models = project.orm.models
    if models:
        table = _table(f"ORM models ({len(models)})", "model", "table", "columns", "relationships (lazy)",
                       "foreign keys (ondelete)")
        for model in models:
            relationships = ", ".join(f"{r.attribute} ({r.lazy})" for r in model.relationships)
            keys = ", ".join(f"{fk.column}->{fk.target}" + (f" ({fk.ondelete})" if fk.ondelete else "")
                             for fk in model.foreign_keys)
            table.add_row(Text(model.name), Text(model.table or "?"), str(len(model.columns)),
                          Text(relationships or "-"), Text(keys or "-"))
        console.print(table)
    requirements = project.startup_requirements
    if requirements:
        table = _table("Needed at startup", "service", "where", "declared in compose/k8s")
        for requirement in requirements:
            provided = {True: "yes", False: "NO", None: "unknown (no services declared)"}[requirement.provided]
            table.add_row(requirement.kind, _loc(requirement.location), provided)
        console.print(table)
    dependencies = project.dependencies
    if dependencies.dependencies:
        counts = {}
        for dependency in dependencies.dependencies:
            counts[dependency.status] = counts.get(dependency.status, 0) + 1
        summary = ", ".join(f"{status} {counts[status]}" for status in sorted(counts))
        locks = ", ".join(dependencies.lock_files) or "none"
        console.print(Text(f"Dependencies: {len(dependencies.dependencies)} declared ({summary}); lock files: {locks}"))
