"""Specialised per-module facts, one topic per module.

Each module here defines `extract(parsed: ParsedModule) -> Iterable[object]` returning
frozen dataclasses (defined in that module). The summary step runs the extractors the
selected rules need (`Rule.needs`, plus REPORT_NEEDS for the report) on every parsed module
and stores the facts in `ModuleSummary.extra` (cached with the summary); project-level code
reads them with `summary.facts_of(FactType)`. This is how a rule that needs a syntax detail
across files gets it without re-parsing ("attribute `.author` read inside a loop over the
result of `select(Book)` at line 40").

An extractor is known by its module name ("orm_loops"): rules name the extractors they
need, so an audit of a few rules pays for their facts only.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Collection, Iterable
from functools import cache

# The report's inventory shows role checks and string-built SQL for every endpoint,
# whichever rules ran.
REPORT_NEEDS = ("security",)


@cache
def _all_extractors() -> tuple[tuple[str, Callable[..., Iterable[object]]], ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        extract = getattr(module, "extract", None)
        if callable(extract):
            found.append((info.name, extract))
    return tuple(found)


def extractor_names() -> tuple[str, ...]:
    return tuple(name for name, _ in _all_extractors())


def extractors(names: Collection[str] | None = None) -> tuple[Callable[..., Iterable[object]], ...]:
    """The extract functions, in name order: all of them, or only those named."""
    return tuple(extract for name, extract in _all_extractors() if names is None or name in names)


def extractor_of(fact_type: type) -> str | None:
    """The name of the extractor module that defines a fact type (None for generic facts)."""
    prefix = f"{__name__}."
    module = fact_type.__module__
    return module[len(prefix):] if module.startswith(prefix) else None
