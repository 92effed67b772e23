"""Specialised per-module facts, one topic per module.

Each module here defines `extract(parsed: ParsedModule) -> Iterable[object]` returning
frozen dataclasses (defined in that module). The summary step runs every extractor on every
parsed module and stores the facts in `ModuleSummary.extra` (cached with the summary);
project-level code reads them with `summary.facts_of(FactType)`. This is how a rule that
needs a syntax detail across files gets it without re-parsing ("attribute `.author` read
inside a loop over the result of `select(Book)` at line 40").
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from functools import cache


@cache
def extractors() -> tuple[Callable[..., Iterable[object]], ...]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        extract = getattr(module, "extract", None)
        if callable(extract):
            found.append(extract)
    return tuple(found)
