"""Shared by the project-level observability rules: which libraries a project imports.

Not a rule. Each rule states the libraries it looked for, so the finding shows the search
that establishes the absence."""

from __future__ import annotations

from prodaudit.findings import Evidence, Location


def first_import(project, prefixes: tuple[str, ...]) -> Location | None:
    """Where the first source module imports one of these packages, or None."""
    for module in project.summaries("source"):
        for fact in module.imports:
            if fact.target.startswith(prefixes):
                return Location(module.path, fact.line)
    return None


def searched(prefixes: tuple[str, ...]) -> Evidence:
    return Evidence(Location(""), "searched imports of source modules for " + ", ".join(prefixes) + ": none")


def is_service(project) -> bool:
    """A web app or bot: there is something running that needs watching."""
    return bool(project.routes.endpoints or project.bot_handlers)
