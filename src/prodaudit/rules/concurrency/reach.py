"""Which functions run per request or per bot update; shared by PA105, PA106, PA109, PA110.

Not a rule. Background jobs are left out on purpose: a periodic loop is one coroutine, so
it does not race with itself the way concurrent requests do.
"""

from __future__ import annotations

from prodaudit.findings import Evidence, Location


def handler_entries(project) -> dict[str, str]:
    """Function key -> label ("POST /orders", "bot message ...") of routes and bot handlers."""
    entries: dict[str, str] = {}
    for endpoint in project.routes.endpoints:
        if endpoint.handler is not None:
            entries.setdefault(endpoint.handler.key, endpoint.label)
    for handler in project.bot_handlers:
        entries.setdefault(handler.function, handler.label)
    return entries


def handler_reach(project) -> dict:
    """Function key -> (entry label, call path) for everything a route or bot handler reaches."""
    return project.callgraph.reachable(handler_entries(project))


def reached_evidence(project, key: str, hit) -> Evidence:
    label, path = hit
    graph = project.callgraph
    node = graph.nodes.get(key)
    where = node.location if node else Location("")
    return Evidence(where, f"reached from {graph.describe_path(label, path)}")


def who(label: str) -> str:
    """'requests' or 'bot updates', for messages."""
    return "bot updates" if label.startswith("bot ") else "requests"
