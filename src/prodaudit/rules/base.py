"""Rule metadata, the two kinds of rule, and the registry.

A *file rule* needs one module's syntax only; it runs inside the summary step (in a worker
process, cached with the summary). A *project rule* is a pure function of the project
model and runs once per audit. Bridged rules name ruff codes; the ruff bridge turns ruff's
diagnostics into their findings.

Rule docs live in the class docstring with the sections listed in DOC_SECTIONS; the
catalog tests check that every rule has them and that the Example fires and the
Use-instead code does not.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity

if TYPE_CHECKING:
    from prodaudit.model.project import Project
    from prodaudit.model.summary import ParsedModule

RULE_ID = re.compile(r"^PA\d{3}$")
SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Known limitations")


class Status(StrEnum):
    STABLE = "stable"
    PREVIEW = "preview"


@dataclass(frozen=True)
class RuleMeta:
    id: str
    slug: str
    family: str
    dimension: Dimension
    severity: Severity
    summary: str  # one line, what it finds
    confidence: Confidence = Confidence.HIGH
    effort_minutes: int = 15
    technology: tuple[str, ...] = ()
    cwe: tuple[int, ...] = ()
    owasp: tuple[str, ...] = ()
    status: Status = Status.STABLE
    # ruff codes this rule is bridged from; the bridge runs ruff once for all of them.
    ruff_codes: tuple[str, ...] = ()
    # Kinds of file the rule looks at ("source", "test", "migration", ...).
    file_kinds: tuple[str, ...] = ("source",)
    # Engine-level rules (parse errors, internal errors) are not scored.
    scored: bool = True
    # Short default advice; a finding may give a more specific one.
    fix: str = ""


class Rule:
    meta: ClassVar[RuleMeta]
    # Extractors (model/extractors/<name>.py) whose facts the rule reads, itself or through
    # the model: the summary step runs only the ones the selected rules name, so an audit
    # of a few rules pays for their facts only. The fixture runner checks that the list is
    # complete (every facts_of() type asked for while the rule runs is covered).
    needs: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def doc_section(cls, title: str) -> str:
        """The text under `## title` in the docstring, without its code fences."""
        return doc_section(cls.doc(), title)

    def finding(
        self,
        message: str,
        location: Location,
        *,
        evidence: Iterable[Evidence] = (),
        fix: str = "",
        anchor: str = "",
        severity: Severity | None = None,
        confidence: Confidence | None = None,
        excerpt: str = "",
        details: dict[str, str | int | float | bool] | None = None,
    ) -> Finding:
        return Finding(
            rule_id=self.meta.id,
            message=message,
            location=location,
            severity=severity or self.meta.severity,
            confidence=confidence or self.meta.confidence,
            evidence=tuple(evidence),
            fix=fix or self.meta.fix,
            anchor=anchor,
            excerpt=excerpt,
            details=tuple(sorted((details or {}).items())),
        )


class FileRule(Rule):
    def check_module(self, module: ParsedModule) -> Iterator[Finding]:
        raise NotImplementedError


class ProjectRule(Rule):
    def check_project(self, project: Project) -> Iterator[Finding]:
        raise NotImplementedError


class BridgedRule(Rule):
    """A rule whose findings come from ruff; see rules/ruff_bridge.py."""

    # ruff code -> severity, where a code deserves another severity than the rule's.
    severity_by_code: ClassVar[dict[str, Severity]] = {}
    # ruff settings as `--config` overrides, e.g. 'lint.mccabe.max-complexity = 15'.
    ruff_settings: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def accepts(cls, code: str, message: str, path: str, line_text: str, module) -> bool:
        """Refine ruff: return False for a diagnostic this rule knows to be noise.
        `module` is the file's ModuleSummary (None when it was not parsed)."""
        return True

    @classmethod
    def accepts_in_project(cls, project, code: str, path: str, line: int) -> bool:
        """Like accepts, for noise only the project model reveals (an Enum class defined
        in another module, say). Called after accepts, when the model exists."""
        return True


def doc_section(doc: str, title: str) -> str:
    pattern = re.compile(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    match = pattern.search(doc)
    return match.group(1).strip() if match else ""


def code_blocks(text: str) -> list[str]:
    """Fenced ```python blocks inside a doc section."""
    return [code for lang, code in fenced_blocks(text) if lang in ("", "python", "py")]


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block: python, dockerfile, yaml, toml, text..."""
    return [(m.group(1).lower(), m.group(2)) for m in re.finditer(r"```([A-Za-z]*)\n(.*?)```", text, re.DOTALL)]


_REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    meta = cls.meta
    if not RULE_ID.match(meta.id):
        raise ValueError(f"rule id {meta.id!r} is not of the form PA123")
    if not SLUG.match(meta.slug):
        raise ValueError(f"rule slug {meta.slug!r} is not kebab-case")
    existing = _REGISTRY.get(meta.id)
    if existing is not None and existing is not cls:
        raise ValueError(f"rule id {meta.id} registered twice ({existing.__name__}, {cls.__name__})")
    _REGISTRY[meta.id] = cls
    return cls


_loaded = False


def load_rules() -> None:
    """Import every module under prodaudit.rules so their @register calls run."""
    global _loaded
    if _loaded:
        return
    import prodaudit.rules as package

    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
    _loaded = True


def all_rules() -> list[type[Rule]]:
    load_rules()
    return [_REGISTRY[key] for key in sorted(_REGISTRY)]


def rule_by_key(key: str) -> type[Rule] | None:
    """Look a rule up by id (case-insensitive) or slug."""
    load_rules()
    upper = key.upper()
    if upper in _REGISTRY:
        return _REGISTRY[upper]
    for cls in _REGISTRY.values():
        if cls.meta.slug == key.lower():
            return cls
    return None


def with_severity(cls: type[Rule], severity: Severity) -> type[Rule]:
    """The rule with a configured severity: a subclass, so the registry is untouched."""
    return type(cls.__name__, (cls,), {"meta": replace(cls.meta, severity=severity),
                                       "__doc__": cls.__doc__})
