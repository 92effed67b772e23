"""Names taken from project modules that those modules do not define.

Two shapes, both failing at run time: `from pkg.mod import name` (ImportError when the
importing code runs) and `mod.name` read through an imported module (AttributeError).
Judged with the strict resolution of model/symbols.py; imports guarded by
try/except ImportError or TYPE_CHECKING, reads guarded by hasattr/try, dunders, and
modules with dynamic namespaces are never reported.

One more caution: a lowercase name missing from a package may be a submodule that is
generated at build time (protobuf stubs, `_version.py`) and so absent from the
checkout. Such names are reported only with positive evidence that the import is wrong:
a module file of the same dotted name, hidden by the package, that does define it.
"""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location
from prodaudit.model.extractors.name_bindings import AttributeUse
from prodaudit.model.symbols import ResolvedModule


@dataclass(frozen=True)
class MissingAttribute:
    location: Location  # the import statement, or the attribute read
    how: str  # "import" or "attribute"
    written: str  # "from app.x import name" / "payments.refund"
    module: ResolvedModule  # the module that lacks it
    name: str
    scope: str  # function the failing line runs in, "" at module level
    # Where the hidden module file defines the name (package-shadowing cases).
    shadowed_definition: Location | None = None


def find_missing_attributes(project) -> list[MissingAttribute]:
    symbols = project.symbols
    found: list[MissingAttribute] = []
    for summary in project.summaries("source"):
        names = symbols.names_of(summary)
        guarded = names.guarded_import_lines if names is not None else frozenset()
        ranges = [(fn.line, fn.end_line, fn.qualname) for fn in summary.functions]
        for fact in summary.imports:
            if fact.is_module_import or fact.local == "*" or fact.line in guarded:
                continue
            base, _, name = fact.target.rpartition(".")
            resolved = symbols.module(base) if base else None
            if resolved is None or resolved.summary.path == summary.path:
                continue
            missing = _missing(symbols, resolved, name)
            if missing is None:
                continue
            scope = max((r for r in ranges if r[0] <= fact.line <= r[1]), default=(0, 0, ""),
                        key=lambda r: r[0])[2]
            found.append(MissingAttribute(Location(summary.path, fact.line), "import",
                                          f"from {base} import {name}", resolved, name, scope,
                                          missing or None))
        for use in summary.facts_of(AttributeUse):
            if use.store or use.guarded or not use.attrs:
                continue
            if _rebound_by_package(symbols, use.target):
                continue
            resolved = symbols.module(use.target)
            head = use.head or use.target.rsplit(".", 1)[-1]
            for index, attr in enumerate(use.attrs):
                # A module may read its own attributes through its name, but only inside
                # functions: at import time it is still half-built.
                if resolved is None or (resolved.summary.path == summary.path and not use.scope):
                    break
                if resolved.summary.is_package and symbols.submodule_on_disk(resolved.summary, attr):
                    submodule = f"{resolved.summary.module}.{attr}"
                    if _rebound_by_package(symbols, submodule):
                        break
                    resolved = symbols.module(submodule)
                    continue
                missing = _missing(symbols, resolved, attr)
                if missing is not None:
                    written = ".".join([head, *use.attrs[: index + 1]])
                    found.append(MissingAttribute(Location(summary.path, use.line), "attribute",
                                                  written, resolved, attr, use.scope, missing or None))
                break
    unique = {(m.location, m.name): m for m in found}
    return sorted(unique.values(), key=lambda m: (m.location.path, m.location.line, m.name))


def _rebound_by_package(symbols, dotted: str) -> bool:
    """True when `pkg.name` is not the submodule pkg/name.py at run time: the package's
    `__init__` binds `name` to something else (`from .session import session` re-exports
    an object under its module's name, and that binding replaces the submodule as the
    package attribute), so `from pkg import name` and `pkg.name` give that object."""
    package_name, _, name = dotted.rpartition(".")
    package = symbols.module(package_name) if package_name else None
    if package is None or not package.summary.is_package:
        return False
    names = symbols.names_of(package.summary)
    if names is None:
        return False
    submodule = symbols.module(dotted)
    for binding in names.of(name):
        if binding.kind != "import":
            return True  # a def, class or assignment
        bound = symbols.module(binding.target)
        if bound is None or submodule is None or bound.summary.path != submodule.summary.path:
            return True  # `from .session import session`: a name inside the module
    return False


def _missing(symbols, resolved: ResolvedModule, name: str) -> Location | bool | None:
    """None when `name` is (or may be) there; otherwise False, or the location where a
    shadowed module file defines it."""
    if name.startswith("__") and name.endswith("__"):
        return None
    if symbols.defines(resolved.summary, name) is not False:
        return None
    hidden = _shadowed_definition(symbols, resolved, name)
    if resolved.summary.is_package and name == name.lower() and hidden is None:
        return None  # maybe a submodule generated at build time; not a claim we can make
    return hidden or False


def _shadowed_definition(symbols, resolved: ResolvedModule, name: str) -> Location | None:
    if resolved.shadowed is None:
        return None
    names = symbols.names_of(resolved.shadowed)
    bindings = names.of(name) if names is not None else ()
    return Location(resolved.shadowed.path, bindings[0].line) if bindings else None
