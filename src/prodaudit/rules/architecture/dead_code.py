from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.references import ReferencedNames
from prodaudit.model.hierarchy import ClassHierarchy
from prodaudit.rules.base import ProjectRule, RuleMeta, register

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Decorators that change nothing about who calls the function. Any other decorator may
# register it with a framework (routes, handlers, tasks, fixtures, validators, CLI
# commands, event listeners, properties), so decorated functions are never reported.
PURE_DECORATORS = frozenset({"staticmethod", "classmethod", "functools.lru_cache", "functools.cache",
                             "lru_cache", "cache", "dataclasses.dataclass", "dataclass",
                             "typing.final", "final", "functools.total_ordering", "total_ordering"})
# Bases whose subclasses are plain classes: unused ones are dead like any other. Other
# external bases (ORM declarative bases, framework classes) may register subclasses or
# call their methods by convention.
PLAIN_BASES = frozenset({"object", "pydantic.BaseModel", "Exception", "ValueError", "RuntimeError",
                         "TypeError", "KeyError", "LookupError", "typing.NamedTuple",
                         "typing.TypedDict", "typing_extensions.TypedDict", "enum.Enum",
                         "enum.IntEnum", "enum.StrEnum", "str", "int", "dict"})
# pydantic calls the model_* methods of their subclasses itself.
PYDANTIC_MODELS = frozenset({"pydantic.BaseModel", "pydantic.RootModel"})
# Called by servers and tools by name, from config files they load themselves.
CONVENTIONAL_HOOKS = frozenset({
    "main", "on_starting", "on_reload", "when_ready", "pre_fork", "post_fork", "post_worker_init",
    "worker_int", "worker_abort", "pre_exec", "pre_request", "post_request", "child_exit",
    "worker_exit", "nworkers_changed", "on_exit", "ssl_context", "setup", "teardown",
    "run_migrations_online", "run_migrations_offline", "upgrade", "downgrade"})
FUNCTION_CONFIDENCE, CLASS_CONFIDENCE, METHOD_CONFIDENCE = 90, 80, 60


@dataclass(frozen=True)
class Unused:
    kind: str  # function, class, method
    name: str
    qualname: str
    module: str
    location: Location
    confidence: int


class References:
    """Every name the project mentions, from all Python modules (tests and migrations
    included: a use there is a use) and the identifiers of config and deploy files."""

    def __init__(self, project):
        self.mentioned: set[str] = set()
        self.prefixes: set[str] = set()
        self.dynamic_modules: set[str] = set()
        self.python_files = 0
        for summary in project.summaries():
            facts = summary.facts_of(ReferencedNames)
            if summary.problem is not None or not facts:
                # Unparsed: any identifier in its text may be a use.
                self.mentioned.update(IDENTIFIER.findall(project.read_text(summary.path) or ""))
                continue
            self.python_files += 1
            for fact in facts:
                self.mentioned |= fact.names | fact.attributes | fact.strings
                self.prefixes.update(fact.dynamic_prefixes)
                if fact.dynamic_any:
                    self.dynamic_modules.add(summary.path)
        self.text_files = 0
        for source in project.files_of_kind("config", "deploy"):
            name = source.path.rsplit("/", 1)[-1].lower()
            if name.endswith(".lock") or name.startswith("requirements"):
                continue  # package names, not references to code
            text = project.read_text(source.path)
            if text is not None:
                self.text_files += 1
                self.mentioned.update(IDENTIFIER.findall(text))

    def used(self, name: str) -> bool:
        return name in self.mentioned or any(name.startswith(p) for p in self.prefixes)


class DeadCodeFinder:
    def __init__(self, project):
        self.project = project
        self.graph = project.callgraph
        self.references = References(project)
        self._plain: dict[tuple[str, str], bool] = {}
        self.hierarchy = ClassHierarchy(project)

    def plain(self, module, cls, depth: int = 0) -> bool:
        """No ancestor outside the project except plain ones, no metaclass, no Protocol/ABC."""
        key = (module.module, cls.qualname)
        if key in self._plain:
            return self._plain[key]
        self._plain[key] = False
        result = not cls.keywords and depth < 6
        for base in cls.bases:
            if not result:
                break
            if base.kind not in ("name", "attr"):
                result = False
                break
            found = self.graph.class_from_name(module, base.text, base.name)
            if found is not None:
                result = self.plain(found[0], found[1], depth + 1)
            else:
                result = base.name in PLAIN_BASES or base.name.removeprefix("builtins.") in PLAIN_BASES
        self._plain[key] = result
        return result

    @staticmethod
    def pure(decorators) -> bool:
        for decorator in decorators:
            name = decorator.name.split("(")[0]
            if name not in PURE_DECORATORS and decorator.text.split("(")[0] not in PURE_DECORATORS:
                return False
        return True

    def candidates(self) -> Iterator[Unused]:
        references = self.references
        for summary in self.project.summaries("source"):
            if summary.problem is not None or summary.path in references.dynamic_modules:
                continue
            defined = [fn.qualname for fn in summary.functions]
            classes = {cls.qualname: cls for cls in summary.classes}
            for cls in summary.classes:
                if "." in cls.qualname or cls.name.startswith("Test"):
                    continue
                if not references.used(cls.name) and self.pure(cls.decorators) and self.plain(summary, cls):
                    yield Unused("class", cls.name, cls.qualname, summary.module,
                                 Location(summary.path, cls.line), CLASS_CONFIDENCE)
            for fn in summary.functions:
                name = fn.name
                if (fn.parent or name.startswith(("__", "test_"))
                        or name in CONVENTIONAL_HOOKS or defined.count(fn.qualname) > 1
                        or references.used(name) or not self.pure(fn.decorators)):
                    continue
                location = Location(summary.path, fn.def_line or fn.line)
                if not fn.class_name:
                    yield Unused("function", name, fn.qualname, summary.module, location,
                                 FUNCTION_CONFIDENCE)
                    continue
                cls = classes.get(fn.class_name)
                if cls is None or "." in cls.qualname or not references.used(cls.name):
                    continue  # nested classes are left alone; an unused class is one finding
                if not self.plain(summary, cls) or fn.is_stub:
                    continue  # framework subclasses; abstract-style placeholders
                if name.startswith("model_") and any(base.name in PYDANTIC_MODELS for base in cls.bases):
                    continue  # pydantic's own hooks (model_post_init, model_parametrized_name)
                if self.hierarchy.overridden(summary, cls, name) or self.hierarchy.overrides(summary, cls, name):
                    continue
                yield Unused("method", name, fn.qualname, summary.module, location, METHOD_CONFIDENCE)


@register
class DeadCode(ProjectRule):
    """
    ## What it does
    Finds functions, classes and methods of application code that nothing refers to: no
    call, import, attribute read, decorator, `Depends(...)`, `__all__` entry or string
    (`getattr(x, "name")`, `"app.tasks.name"`, a name in a Dockerfile or pyproject.toml)
    names them anywhere in the project, tests included. Framework entry points are never
    reported: anything with a registering decorator (routes, bot handlers, Celery tasks,
    CLI commands, fixtures, validators, event hooks, properties), dunder methods, methods
    of classes derived from framework classes, overrides, Alembic and gunicorn hooks.
    Each finding carries a vulture-style confidence: 90% for a module-level function,
    80% for a class, 60% for a method.

    ## Why is this bad?
    Dead code is read, reviewed, type-checked and migrated for nothing, and it misleads:
    a helper that looks like the way to do something is not what runs (seed 003
    section 5). Deleting it is the cheapest refactoring there is.

    ## Example
    ```python
    def format_price(cents):
        return f"{cents / 100:.2f}"


    def total(items):
        return sum(item["price"] for item in items)


    print(total([]))
    ```

    ## Use instead
    ```python
    def total(items):
        return sum(item["price"] for item in items)


    print(total([]))
    ```

    ## Known limitations
    Use is decided by name, like vulture: a function is kept alive by anything else of
    the same name, and by its own recursive calls. Code reached only through dynamic
    lookups (`getattr` with a computed name, `globals()`) is not reported in modules that
    do such lookups. A library's public API has no callers inside its own repository;
    review before deleting there. Code only tests use is not reported.
    """

    needs = ("references",)
    meta = RuleMeta(
        id="PA604", slug="dead-code", family="architecture",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.LOW, confidence=Confidence.MEDIUM,
        summary="function, class or method referenced nowhere and not a framework entry point",
        effort_minutes=5,
        fix="Delete it (version control keeps it); if something calls it dynamically, "
            "reference it explicitly or suppress with the reason.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        finder = DeadCodeFinder(project)
        references = finder.references
        searched = (f"{references.python_files} Python modules and {references.text_files} "
                    f"config/deploy files")
        for unused in finder.candidates():
            high = unused.confidence >= FUNCTION_CONFIDENCE
            label = {"function": "Function", "class": "Class", "method": "Method"}[unused.kind]
            yield self.finding(
                f"{label} `{unused.qualname}` is never referenced: nothing calls, imports or "
                f"names it ({unused.confidence}% confidence)",
                unused.location,
                severity=Severity.LOW if unused.kind != "method" else Severity.INFO,
                confidence=Confidence.HIGH if high else (
                    Confidence.MEDIUM if unused.kind == "class" else Confidence.LOW),
                evidence=[Evidence(unused.location, f"{unused.kind} defined here"),
                          Evidence(Location(""), f"no reference to `{unused.name}` in {searched}")],
                anchor=f"{unused.module}:{unused.qualname}",
                details={"confidence_percent": unused.confidence, "kind": unused.kind},
            )
