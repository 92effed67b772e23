from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

PATH_PARAMETER = re.compile(r"\{[^}]*\}")


@dataclass(frozen=True)
class Registration:
    """One way a router is reached from an app: the include call that adds it last, and the
    URLs its routes get that way."""

    include: Location
    prefix_chain: tuple[str, ...]  # router keys from the app down to the router
    includes: tuple[Location, ...]
    urls: tuple[str, ...]


def short_key(key: str) -> str:
    """"backend.app.routers.favorites:router" -> "routers.favorites.router"."""
    module, _, name = key.partition(":")
    tail = ".".join(module.split(".")[-2:])
    return f"{tail}.{name}" if name else tail


@register
class DuplicateRoute(ProjectRule):
    """
    ## What it does
    Finds routes reachable twice: a router included at two places (directly and again
    through another router that re-includes or re-exports it), and one (method, URL)
    served by two different handlers. A router included twice is one finding listing
    every `include_router` on the way; a URL with two handlers is one finding naming
    the handler FastAPI never calls.

    ## Why is this bad?
    A router included twice serves every route under two URLs (`/favorites` and
    `/api/favorites`): clients split between them, rate limits and caches keyed by path
    count each half separately, FastAPI warns about duplicate operation ids and
    generated API clients get two methods for one operation. When two handlers share a
    method and path, Starlette dispatches to the first one registered; the second is
    dead code that looks live, and a fix made there never runs.

    ## Example
    ```python
    from fastapi import APIRouter, FastAPI

    favorites = APIRouter()


    @favorites.get("/")
    async def list_favorites():
        return []


    api = APIRouter(prefix="/api")
    api.include_router(favorites, prefix="/favorites")

    app = FastAPI()
    app.include_router(favorites, prefix="/favorites")
    app.include_router(api)
    ```

    ## Use instead
    ```python
    from fastapi import APIRouter, FastAPI

    favorites = APIRouter()


    @favorites.get("/")
    async def list_favorites():
        return []


    api = APIRouter(prefix="/api")
    api.include_router(favorites, prefix="/favorites")

    app = FastAPI()
    app.include_router(api)
    ```

    ## Known limitations
    Includes are read statically: two includes in the two branches of an `if` are
    reported as a duplicate although only one runs. Which of two handlers of one URL
    is registered first is decided from include and decorator order only when they are
    in the same files; otherwise the finding says one of them is unreachable without
    naming it. Routers not mounted on any app, and prefixes that cannot be resolved,
    are left out.
    """

    meta = RuleMeta(
        id="PA601", slug="duplicate-route", family="architecture",
        dimension=Dimension.ARCHITECTURE, severity=Severity.MEDIUM, confidence=Confidence.HIGH,
        summary="the same routes reachable under two URLs (router included twice), or one "
                "method+URL served by two handlers",
        effort_minutes=30, technology=("fastapi", "starlette"),
        fix="Include each router once; if an old URL must live on for old clients, keep it "
            "as a redirect or mark it deprecated=True with a removal date.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        routes = project.routes
        mounted = [e for e in routes.endpoints if e.app]
        yield from self.routers_included_twice(routes, mounted)
        yield from self.urls_with_two_handlers(mounted)

    # -- a router reached through two include calls --------------------------------------
    def routers_included_twice(self, routes, mounted) -> Iterator[Finding]:
        # (app, router) -> last include location -> registration
        reached: dict[tuple[str, str], dict[Location, Registration]] = {}
        for endpoint in mounted:
            for depth in range(1, len(endpoint.chain)):
                router = endpoint.chain[depth]
                include = endpoint.includes[depth - 1]
                ways = reached.setdefault((endpoint.app, router), {})
                known = ways.get(include)
                url = f"{endpoint.method} {endpoint.url}"
                if known is None:
                    ways[include] = Registration(include, endpoint.chain[: depth + 1],
                                                 endpoint.includes[:depth], (url,))
                elif url not in known.urls:
                    ways[include] = Registration(include, known.prefix_chain, known.includes,
                                                 known.urls + (url,))
        for (app, router), ways in sorted(reached.items()):
            if len(ways) < 2:
                continue
            # Shortest way first: the direct include is usually the original, the longer
            # one the re-export that duplicates it.
            ordered = sorted(ways.values(), key=lambda r: (len(r.includes), r.include))
            first, duplicates = ordered[0], ordered[1:]
            declared = routes.router(router)
            evidence = []
            if declared is not None:
                evidence.append(Evidence(declared.location, f"router `{short_key(router)}` defined here"))
            for registration in ordered:
                sample = ", ".join(registration.urls[:3]) + (
                    f" and {len(registration.urls) - 3} more" if len(registration.urls) > 3 else "")
                path = " -> ".join(short_key(key) for key in registration.prefix_chain)
                for location in registration.includes[:-1]:
                    evidence.append(Evidence(location, f"on the way: {path}"))
                evidence.append(Evidence(registration.include, f"included here ({path}): {sample}"))
            count = len(first.urls)
            example = first.urls[0].split(" ", 1)[1]
            other = duplicates[0].urls[0].split(" ", 1)[1] if duplicates[0].urls else "?"
            yield self.finding(
                f"Router `{short_key(router)}` is included {len(ways)} times, so its {count} "
                f"route{'s are' if count != 1 else ' is'} served under {len(ways)} URLs "
                f"(e.g. {example} and {other})",
                duplicates[-1].include,
                evidence=evidence,
                anchor=f"{router}@{app}",
                details={"includes": len(ways), "routes": count},
            )

    # -- one (method, URL) with two handlers ---------------------------------------------
    def urls_with_two_handlers(self, mounted) -> Iterator[Finding]:
        by_url: dict[tuple[str, str, str], list] = {}
        for endpoint in mounted:
            if not endpoint.url_known or endpoint.handler is None:
                continue
            pattern = PATH_PARAMETER.sub("{}", endpoint.url)
            by_url.setdefault((endpoint.app, endpoint.method, pattern), []).append(endpoint)
        for (app, method, _), endpoints in sorted(by_url.items()):
            declarations = {}
            for endpoint in endpoints:
                declarations.setdefault(endpoint.location, endpoint)
            if len(declarations) < 2:
                continue  # one declaration reached twice: a router included twice
            ordered = sorted(declarations.values(), key=lambda e: (e.location.path, e.location.line))
            served = first_registered(ordered)
            if served is not None:
                dead = [e for e in ordered if e is not served]
                location = dead[0].location
                tail = (f"`{dead[0].handler.qualname}` is never called: `{served.handler.qualname}` "
                        "is registered first and Starlette dispatches to the first match")
            else:
                dead = ordered[1:]
                location = dead[0].location
                tail = "only the one registered first is ever called"
            evidence = [Evidence(e.location, f"`{e.handler.qualname}` declared for {e.method} {e.url}"
                                 + (" (served)" if e is served else ""))
                        for e in ordered]
            for endpoint in ordered:
                for include in endpoint.includes[-1:]:
                    evidence.append(Evidence(include, f"its router is included here ({endpoint.url})"))
            yield self.finding(
                f"{method} {ordered[0].url} is declared by {len(ordered)} handlers; {tail}",
                location,
                evidence=evidence,
                anchor=f"{method} {ordered[0].url}@{app}",
                details={"handlers": len(ordered)},
            )


def registration_order(endpoint) -> tuple[tuple[str, int], ...]:
    """Where each registration step happens: the include calls from the app down, then
    the route decorator. Steps in one file run in line order."""
    return tuple((loc.path, loc.line) for loc in endpoint.includes) + (
        (endpoint.location.path, endpoint.location.line),)


def first_registered(endpoints):
    """The endpoint registered first, when every pair can be ordered by line numbers in a
    shared file at the first step where they differ; None otherwise."""
    def before(a, b) -> bool | None:
        for step_a, step_b in zip(registration_order(a), registration_order(b)):
            if step_a == step_b:
                continue
            if step_a[0] != step_b[0]:
                return None
            return step_a[1] < step_b[1]
        return None

    best = endpoints[0]
    for candidate in endpoints[1:]:
        order = before(candidate, best)
        if order is None:
            return None
        if order:
            best = candidate
    for other in endpoints:
        if other is not best and before(best, other) is not True:
            return None
    return best
