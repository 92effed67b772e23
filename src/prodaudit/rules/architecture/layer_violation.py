from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Severity
from prodaudit.model.layers import DATA, LABELS, SERVICE, LayerAnalysis, RouterUsage
from prodaudit.rules.base import ProjectRule, RuleMeta, register


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
