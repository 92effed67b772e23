"""Project class hierarchy: which project classes a class derives from, and which method
names its project subclasses define (a method overridden there is dispatched to the
subclass at run time, so a base version that is a stub or looks unused is not what runs).
Bases are resolved by name like the call graph does; library bases are not followed.
"""

from __future__ import annotations

from functools import cached_property

from prodaudit.model.facts import ClassFact, ModuleSummary

ABSTRACT_BASES = frozenset({"abc.ABC", "typing.Protocol", "typing_extensions.Protocol",
                            "typing.Generic", "abc.ABCMeta"})
MAX_DEPTH = 6

ClassKey = tuple[str, str]  # (module dotted name, class qualname)


class ClassHierarchy:
    def __init__(self, project):
        self.project = project
        self.graph = project.callgraph

    def resolve_base(self, module: ModuleSummary, base) -> tuple[ModuleSummary, ClassFact] | None:
        if base.kind not in ("name", "attr"):
            return None
        return self.graph.class_from_name(module, base.text, base.name)

    def ancestors(self, module: ModuleSummary, cls: ClassFact, depth: int = 0) -> list[ClassKey]:
        """Project base classes at any depth (nearest first)."""
        found: list[ClassKey] = []
        if depth > MAX_DEPTH:
            return found
        for base in cls.bases:
            resolved = self.resolve_base(module, base)
            if resolved is not None:
                found.append((resolved[0].module, resolved[1].qualname))
                found += self.ancestors(resolved[0], resolved[1], depth + 1)
        return found

    def class_of(self, key: ClassKey) -> tuple[ModuleSummary, ClassFact] | None:
        module = self.project.module_named(key[0])
        cls = self.project.class_named(module, key[1]) if module is not None else None
        return (module, cls) if cls is not None else None

    @cached_property
    def subclass_methods(self) -> dict[ClassKey, frozenset[str]]:
        """Class -> method names defined by its project subclasses, at any depth."""
        found: dict[ClassKey, set[str]] = {}
        for summary in self.project.summaries("source"):
            for cls in summary.classes:
                for ancestor in self.ancestors(summary, cls):
                    found.setdefault(ancestor, set()).update(cls.methods)
        return {key: frozenset(names) for key, names in found.items()}

    def overridden(self, module: ModuleSummary, cls: ClassFact, method: str) -> bool:
        return method in self.subclass_methods.get((module.module, cls.qualname), frozenset())

    def overrides(self, module: ModuleSummary, cls: ClassFact, method: str) -> bool:
        for key in self.ancestors(module, cls):
            found = self.class_of(key)
            if found is not None and method in found[1].methods:
                return True
        return False

    def is_abstract(self, module: ModuleSummary, cls: ClassFact, depth: int = 0) -> bool:
        """Declares an interface: derives from ABC/Protocol (directly or through project
        bases) or has an ABCMeta metaclass."""
        if depth > MAX_DEPTH:
            return False
        for key, value in cls.keywords:
            if key == "metaclass" and value.name.endswith("ABCMeta"):
                return True
        for base in cls.bases:
            name = base.name.split("[")[0]
            if name in ABSTRACT_BASES or (base.kind == "subscript" and base.name in ABSTRACT_BASES):
                return True
            resolved = self.resolve_base(module, base)
            if resolved is not None and self.is_abstract(resolved[0], resolved[1], depth + 1):
                return True
        return False
