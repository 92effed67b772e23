"""Strict name resolution: which project module an import names, and whether a module
defines a name, for rules that claim a run-time failure (PA510, PA511).

The project model resolves imports generously (any unique dotted suffix), which is right
for reachability and wrong for "this will raise": here a dotted name resolves only when
exactly one module (or a package and the module file it hides) carries it, it is not a
standard-library or declared third-party name, and a single-word name sits at a source
root the project's other imports use. "Unknown" is always an acceptable answer.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cached_property

from prodaudit.model.extractors.name_bindings import AttributeUse, FunctionNames, ModuleNames
from prodaudit.model.facts import ModuleSummary

# Distribution name -> import name, where they differ (the rest: "-" -> "_").
IMPORT_NAMES = {
    "pyyaml": "yaml", "python-telegram-bot": "telegram", "beautifulsoup4": "bs4",
    "pillow": "PIL", "python-dotenv": "dotenv", "python-jose": "jose", "pyjwt": "jwt",
    "scikit-learn": "sklearn", "opencv-python": "cv2", "python-multipart": "multipart",
    "psycopg2-binary": "psycopg2", "psycopg-binary": "psycopg", "protobuf": "google",
    "google-cloud-storage": "google", "attrs": "attr", "pymongo": "pymongo",
    "python-dateutil": "dateutil", "pytz": "pytz", "typing-extensions": "typing_extensions",
    "email-validator": "email_validator", "pydantic-settings": "pydantic_settings",
    "sentry-sdk": "sentry_sdk", "aiogram": "aiogram", "redis-py": "redis",
}
# Common libraries, whether declared or pulled in transitively.
WELL_KNOWN = frozenset({
    "fastapi", "starlette", "pydantic", "pydantic_core", "sqlalchemy", "alembic", "redis",
    "httpx", "aiohttp", "requests", "anyio", "uvicorn", "gunicorn", "celery", "jwt", "jose",
    "passlib", "bcrypt", "yaml", "dotenv", "telegram", "aiogram", "google", "openai",
    "asyncpg", "psycopg", "psycopg2", "typing_extensions", "tenacity", "backoff", "structlog",
    "loguru", "sentry_sdk", "prometheus_client", "pytest", "jinja2", "click", "typer",
    "numpy", "pandas", "boto3", "botocore", "docker", "slowapi", "limits", "orjson", "ujson",
    "dateutil", "pytz", "arq", "apscheduler", "sqlmodel", "motor", "pymongo", "aiofiles",
    "multipart", "email_validator", "websockets", "cryptography", "tiktoken", "anthropic",
})


@dataclass(frozen=True)
class ResolvedModule:
    summary: ModuleSummary
    # A module file `x.py` next to a package `x/` that Python imports instead.
    shadowed: ModuleSummary | None = None


class Symbols:
    def __init__(self, project):
        self.project = project
        self._resolved: dict[str, ResolvedModule | None] = {}
        self.by_name: dict[str, list[ModuleSummary]] = {}
        for summary in project.modules.values():
            if summary.problem is None:
                self.by_name.setdefault(summary.module, []).append(summary)

    # -- facts per module --------------------------------------------------------------
    @cached_property
    def _module_names(self) -> dict[str, ModuleNames]:
        return {summary.path: fact for summary in self.project.modules.values()
                for fact in summary.facts_of(ModuleNames)}

    @cached_property
    def _function_names(self) -> dict[tuple[str, str], FunctionNames]:
        return {(summary.path, fact.scope): fact for summary in self.project.modules.values()
                for fact in summary.facts_of(FunctionNames)}

    def names_of(self, summary: ModuleSummary) -> ModuleNames | None:
        return self._module_names.get(summary.path)

    def function_names(self, summary: ModuleSummary, scope: str) -> FunctionNames | None:
        return self._function_names.get((summary.path, scope))

    # -- modules -----------------------------------------------------------------------
    @cached_property
    def third_party(self) -> frozenset[str]:
        names = set(sys.stdlib_module_names) | WELL_KNOWN
        for dist in self.project.dependencies.names():
            names.add(IMPORT_NAMES.get(dist, dist.replace("-", "_")))
        return frozenset(names)

    @cached_property
    def root_packages(self) -> frozenset[str]:
        """Names the audit root itself is imported as (`samokoder.core...` in a repository
        whose root holds `__init__.py` and `core/`): first words of absolute imports that
        name no module, followed by a word that names a top-level package, 3+ times."""
        if "" not in self.by_name:
            return frozenset()
        top = {name.split(".")[0] for name in self.by_name if name}
        counts: dict[str, int] = {}
        for summary in self.project.modules.values():
            for fact in summary.imports:
                parts = fact.target.split(".")
                if fact.level == 0 and len(parts) > 2 and parts[0] not in top and parts[1] in top:
                    counts[parts[0]] = counts.get(parts[0], 0) + 1
        return frozenset(name for name, count in counts.items()
                         if count >= 3 and name not in self.third_party)

    @cached_property
    def roots(self) -> frozenset[str]:
        """Path prefixes (dotted) that multi-word absolute imports resolve against:
        `backend` when `from app.core import x` means backend/app/core/x.py."""
        found = {""}
        for summary in self.project.summaries("source"):
            for fact in summary.imports:
                if fact.level:
                    continue
                dotted = fact.target if fact.is_module_import else fact.target.rpartition(".")[0]
                if dotted.count(".") < 1:
                    continue
                names = self._full_names(self._strip_root(dotted))
                if len(names) == 1:
                    full = next(iter(names))
                    found.add(full[: len(full) - len(self._strip_root(dotted))].rstrip("."))
        return frozenset(found)

    def _strip_root(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        return rest if head in self.root_packages else dotted

    def _full_names(self, dotted: str) -> set[str]:
        """Module names equal to `dotted` or ending with "." + dotted."""
        return set(self._names_by_suffix.get(dotted, ())) if dotted else set()

    @cached_property
    def _names_by_suffix(self) -> dict[str, list[str]]:
        """Every dotted suffix of every module name -> those names (asked thousands of times)."""
        index: dict[str, list[str]] = {}
        for name in self.by_name:
            parts = name.split(".")
            for start in range(len(parts)):
                index.setdefault(".".join(parts[start:]), []).append(name)
        return index

    def module(self, dotted: str) -> ResolvedModule | None:
        if dotted not in self._resolved:
            self._resolved[dotted] = self._module(dotted)
        return self._resolved[dotted]

    def _module(self, dotted: str) -> ResolvedModule | None:
        stripped = self._strip_root(dotted)
        if stripped != dotted and not stripped:
            found = self.by_name.get("", [])
            return ResolvedModule(found[0]) if len(found) == 1 else None
        if stripped == dotted and dotted.split(".")[0] in self.third_party:
            return None
        names = self._full_names(stripped)
        if len(names) != 1:
            return None
        full = names.pop()
        root = full[: len(full) - len(stripped)].rstrip(".")
        if "." not in stripped and root not in self.roots:
            return None  # a single word found deep in the tree: maybe another package's
        found = self.by_name[full]
        packages = [m for m in found if m.is_package]
        files = [m for m in found if not m.is_package]
        if len(packages) == 1 and len(files) <= 1:
            # A regular package wins over a module of the same name in the same directory.
            return ResolvedModule(packages[0], files[0] if files else None)
        return ResolvedModule(files[0]) if len(found) == 1 else None

    def submodule_on_disk(self, package: ModuleSummary, name: str) -> bool:
        """A file or directory `name` next to the package's `__init__.py` (parsed or not:
        generated, ignored or binary modules import just as well)."""
        if not package.is_package:
            return False
        directory = (self.project.root / package.path).parent
        if (directory / name).is_dir():
            return True
        return any(directory.glob(f"{glob_escape(name)}.*"))

    # -- names in modules ----------------------------------------------------------------
    def defines(self, summary: ModuleSummary, name: str) -> bool | None:
        """True when the module binds `name` (or it is a submodule), False when it cannot,
        None when its namespace is dynamic or unreadable."""
        names = self.names_of(summary)
        if names is None or names.dynamic or names.star_import:
            return None
        if names.of(name) or name in ("__name__", "__file__", "__path__", "__doc__", "__spec__",
                                     "__loader__", "__package__", "__dict__", "__all__"):
            return True
        if self.submodule_on_disk(summary, name):
            return True
        stored = self.stored_from_outside
        return (summary.path, name) in stored or (summary.path, "*") in stored

    @cached_property
    def stored_from_outside(self) -> frozenset[tuple[str, str]]:
        """(module path, name) set by other modules: `config.x = ...`, `setattr(config, ...)`."""
        found = set()
        for summary in self.project.modules.values():
            for use in summary.facts_of(AttributeUse):
                if not use.store or not use.attrs:
                    continue
                resolved = self.module(use.target)
                if resolved is not None:
                    found.add((resolved.summary.path, use.attrs[0]))
        return frozenset(found)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
