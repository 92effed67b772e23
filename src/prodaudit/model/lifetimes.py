"""Which project classes have instances that outlive one request.

State on `self` is only raced by concurrent requests when they share the instance. That is
evident when the instance is made once and kept: at module level (`container = DIContainer()`),
on the application's state (`app.state.jobs = JobRunner()`), or returned by a cached factory
(`@lru_cache def get_settings(): return Settings()`). Instances made per request (a repository
built around the request's session) are not shared, and are not listed. Base classes of a
long-lived class are long-lived too: their methods run on that instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.facts import ModuleSummary
from prodaudit.model.values import Value

CACHED_FACTORY = {"functools.lru_cache", "functools.cache", "lru_cache", "cache"}


@dataclass(frozen=True)
class LongLivedInstance:
    class_key: str  # "app.core.container:DIContainer"
    location: Location  # where the instance is made
    how: str  # "module-level `container`", "app.state.jobs", "cached factory get_settings"


def _class_key(project, module: ModuleSummary, value: Value | None) -> str | None:
    if value is not None and value.kind == "await" and value.items:
        value = value.items[0]
    if value is None or value.kind != "call":
        return None
    found = project.callgraph.class_from_name(module, value.text.split("(")[0], value.name)
    if found is None:
        return None
    where, cls = found
    return f"{where.module}:{cls.qualname}"


def _with_bases(project, key: str, depth: int = 0) -> list[str]:
    keys = [key]
    if depth > 6:
        return keys
    module_name, _, qualname = key.partition(":")
    module = project.module_named(module_name)
    cls = project.class_named(module, qualname) if module else None
    if cls is None:
        return keys
    for base in cls.bases:
        if base.kind not in ("name", "attr"):
            continue
        found = project.callgraph.class_from_name(module, base.text, base.name)
        if found is not None:
            keys += _with_bases(project, f"{found[0].module}:{found[1].qualname}", depth + 1)
    return keys


def long_lived_classes(project) -> dict[str, LongLivedInstance]:
    """Class key -> the first place a long-lived instance of it (or of a subclass) is made."""
    made: list[LongLivedInstance] = []
    for module in project.summaries("source"):
        for fact in module.assignments:
            if fact.scope == "" and "." not in fact.target:
                key = _class_key(project, module, fact.value)
                if key:
                    made.append(LongLivedInstance(key, Location(module.path, fact.line),
                                                  f"module-level `{fact.target}`"))
        for call in module.calls:
            if call.scope and ".state." in f".{call.target}":
                key = _class_key(project, module, call.as_value())
                if key:
                    made.append(LongLivedInstance(key, Location(module.path, call.line), call.target))
        for fn in module.functions:
            if not any(d.name in CACHED_FACTORY or d.name.split("(")[0] in CACHED_FACTORY
                       for d in fn.decorators):
                continue
            for value in fn.return_values:
                key = _class_key(project, module, value)
                if key:
                    made.append(LongLivedInstance(key, Location(module.path, fn.def_line or fn.line),
                                                  f"cached factory `{fn.qualname}`"))
    lived: dict[str, LongLivedInstance] = {}
    for instance in made:
        for key in _with_bases(project, instance.class_key):
            lived.setdefault(key, instance)
    return lived
