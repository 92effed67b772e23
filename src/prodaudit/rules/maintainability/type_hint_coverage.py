from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.facts import FunctionFact, ModuleSummary
from prodaudit.rules.base import ProjectRule, RuleMeta, register

METHOD = ("a function counts as annotated when every parameter (except self/cls of methods; "
          "*args/**kwargs included) and its return are annotated; __init__ needs no return "
          "annotation when a parameter is annotated (mypy's rule); lambdas are not counted; "
          ".py files classified as source")
# Decorators that keep a function a plain part of its module's API; any other decorator
# (a route, a bot handler, a fixture) registers it with a framework that calls it for us.
TRANSPARENT_DECORATORS = frozenset({
    "property", "staticmethod", "classmethod", "functools.cached_property", "cached_property",
    "functools.cache", "functools.lru_cache", "functools.wraps", "abc.abstractmethod",
    "abstractmethod", "typing.overload", "overload",
})
MAX_LISTED = 5
MIN_FUNCTIONS = 3  # a module with fewer functions says too little to report
LOWEST_SHOWN = 5
MIN_PROJECT_FUNCTIONS = 10  # below this a share is an anecdote, not a metric


@dataclass(frozen=True)
class ModuleCoverage:
    summary: ModuleSummary
    total: int
    annotated: int
    public_missing: tuple[FunctionFact, ...]

    @property
    def share(self) -> float:
        return self.annotated / self.total if self.total else 1.0


def is_annotated(fn: FunctionFact) -> bool:
    params = list(fn.params)
    if fn.class_name and params and params[0].name in ("self", "cls") and params[0].kind in ("posonly", "arg"):
        params = params[1:]
    if any(p.annotation is None for p in params):
        return False
    if fn.returns is None:
        return fn.name == "__init__" and bool(params)
    return True


def _is_public(fn: FunctionFact, summary: ModuleSummary) -> bool:
    if fn.parent or fn.name.startswith("_") and fn.name != "__init__":
        return False
    if fn.class_name and any(part.startswith("_") for part in fn.class_name.split(".")):
        return False
    if fn.name == "__init__" and not fn.params[1:]:
        return False  # nothing to annotate but the return
    return all(d.kind in ("name", "attr") and (d.name in TRANSPARENT_DECORATORS or d.text in TRANSPARENT_DECORATORS)
               for d in fn.decorators)


def _imported_modules(project) -> set[str]:
    """Paths of the modules some other source module imports (directly or `from m import
    name`); tests importing a module do not make it shared API."""
    imported: set[str] = set()
    for summary in project.summaries("source"):
        for fact in summary.imports:
            for name in (fact.target, fact.target.rpartition(".")[0]):
                target = project.module_named(name) if name else None
                if target is not None and target.path != summary.path:
                    imported.add(target.path)
                    break
    return imported


@register
class TypeHintCoverage(ProjectRule):
    """
    ## What it does
    Measures type-annotation coverage: the share of functions whose parameters and return
    are all annotated, per module and for the project (one info finding with the overall
    share, the method and the least-covered modules). Reports, once per module, the public
    API functions that lack annotations: module-level functions and methods without a
    leading underscore, in modules that other modules import, not registered with a
    framework by a decorator (routes, handlers).

    ## Why is this bad?
    Unannotated public functions are where a type checker cannot help: callers pass the
    wrong shape and learn it in production. Coverage is a metric, not a defect, so only
    the public surface of shared modules is reported (seed 001 #19, seed 004 7.1).

    ## Example
    ```python
    # file: app/pricing.py
    def apply_discount(price, percent):
        return price * (100 - percent) / 100


    def total(prices, percent):
        return sum(apply_discount(p, percent) for p in prices)


    def rounded(value):
        return round(value, 2)
    ```

    ```python
    # file: app/main.py
    from app.pricing import total
    ```

    ## Use instead
    ```python
    # file: app/pricing.py
    def apply_discount(price: float, percent: float) -> float:
        return price * (100 - percent) / 100
    ```

    ## Known limitations
    Modules with fewer than three functions get no per-module finding, and projects with
    fewer than ten functions no coverage figure. Overloads and
    decorated functions count as written. Whether an annotation is correct is not checked.
    """

    meta = RuleMeta(
        id="PA703", slug="type-hint-coverage", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.LOW, confidence=Confidence.HIGH,
        summary="type-annotation coverage per module; public API functions without annotations",
        effort_minutes=10,
        fix="Annotate the parameters and return of the public functions; run mypy or pyright in CI.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        coverages = [c for c in (self._coverage(s) for s in project.summaries("source")) if c.total]
        if not coverages:
            return
        imported = _imported_modules(project)
        for coverage in coverages:
            if coverage.summary.path in imported and coverage.public_missing and coverage.total >= MIN_FUNCTIONS:
                yield self._module_finding(coverage)
        if sum(c.total for c in coverages) >= MIN_PROJECT_FUNCTIONS:
            yield self._project_finding(coverages)

    @staticmethod
    def _coverage(summary: ModuleSummary) -> ModuleCoverage:
        functions = [fn for fn in summary.functions if fn.name != "<lambda>"]
        annotated = [fn for fn in functions if is_annotated(fn)]
        missing = tuple(fn for fn in functions if not is_annotated(fn) and _is_public(fn, summary))
        return ModuleCoverage(summary, len(functions), len(annotated), missing)

    def _module_finding(self, coverage: ModuleCoverage) -> Finding:
        missing = coverage.public_missing
        names = ", ".join(fn.qualname for fn in missing[:MAX_LISTED])
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        first = missing[0]
        summary = coverage.summary
        return self.finding(
            f"{len(missing)} public function(s) without full type annotations in a shared module: {names}{more}",
            Location(summary.path, first.def_line or first.line), anchor=f"{summary.module}:type-hints",
            evidence=[Evidence(Location(summary.path, fn.def_line or fn.line), f"{fn.qualname}: not fully annotated")
                      for fn in missing[:MAX_LISTED]],
            details={"functions": coverage.total, "annotated": coverage.annotated,
                     "coverage_percent": round(100 * coverage.share, 1), "public_unannotated": len(missing)})

    def _project_finding(self, coverages: list[ModuleCoverage]) -> Finding:
        total = sum(c.total for c in coverages)
        annotated = sum(c.annotated for c in coverages)
        percent = round(100 * annotated / total, 1)
        lowest = sorted((c for c in coverages if c.total >= MIN_FUNCTIONS), key=lambda c: (c.share, -c.total))
        return self.finding(
            f"Type-hint coverage: {annotated} of {total} functions ({percent}%) fully annotated in {len(coverages)} modules",
            Location(""), anchor="type-hint-coverage", severity=Severity.INFO,
            evidence=[*(Evidence(Location(c.summary.path), f"{round(100 * c.share)}% ({c.annotated}/{c.total})")
                        for c in lowest[:LOWEST_SHOWN]),
                      Evidence(Location(""), "method: " + METHOD)],
            details={"functions": total, "annotated": annotated, "coverage_percent": percent,
                     "modules": len(coverages), "method": METHOD})
