"""Is this object an ORM row? For PA106; not a rule.

A class is an ORM model when the project model says so (`project.orm`, when the model has
it), or else when its bases lead to a declarative root: `DeclarativeBase`, a module-level
`declarative_base()` / `registry().generate_base()` result, Flask-SQLAlchemy's `db.Model`,
or `SQLModel` with `table=True` (without it an SQLModel class is a plain schema). Pydantic
DTOs copied from rows are not rows, and are not reported.
"""

from __future__ import annotations

import re

from prodaudit.model.facts import ModuleSummary
from prodaudit.model.values import Value

DECLARATIVE_ROOTS = {"sqlalchemy.orm.DeclarativeBase", "sqlalchemy.orm.DeclarativeBaseNoMeta",
                     "sqlalchemy.orm.decl_api.DeclarativeBase"}
BASE_FACTORIES = ("declarative_base", "generate_base")
SEQUENCE_TYPES = ("list", "List", "Sequence", "Iterable", "Iterator", "set", "Set", "tuple",
                  "Tuple", "Collection", "AsyncIterator", "ScalarResult")
# Where a query names its entity. Values keep calls on calls (`select(User).where(...)`)
# only as text, so the entity is read from the text and resolved through the imports.
ENTITY = re.compile(r"(?:\bselect|\.query|\.get|\.get_one|\.get_or_404)\(\s*([A-Za-z_][\w.]*)")


class OrmClasses:
    def __init__(self, project):
        self.project = project
        self.graph = project.callgraph
        self._memo: dict[str, bool] = {}

    def model_of(self, module: ModuleSummary, value: Value | None) -> str | None:
        """The model class name when `value` (a class reference) names a project ORM model."""
        if value is None or value.kind not in ("name", "attr"):
            return None
        found = self.graph.class_from_name(module, value.text, value.name)
        if found is None:
            return None
        cls_module, cls = found
        return cls.name if self._is_model(cls_module, cls, 0) else None

    def _is_model(self, module: ModuleSummary, cls, depth: int) -> bool:
        key = f"{module.module}:{cls.qualname}"
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = False  # cycles in odd code
        orm = self._project_orm()
        if orm is not None:
            try:
                verdict = orm.model(f"{module.module}.{cls.qualname}") is not None
            except (AttributeError, TypeError, ValueError):  # another module's API: degrade, never crash
                verdict = False
            self._memo[key] = verdict
            return verdict
        verdict = depth < 8 and any(self._is_root(module, cls, base, depth) for base in cls.bases)
        self._memo[key] = verdict
        return verdict

    def _project_orm(self):
        # The ORM model (model/orm.py) is built by another part of the project; when it is
        # there it knows more (mixins, abstract bases, Flask), so it decides.
        return getattr(self.project, "orm", None) if hasattr(type(self.project), "orm") else None

    def _is_root(self, module: ModuleSummary, cls, base: Value, depth: int) -> bool:
        if base.kind not in ("name", "attr"):
            return False
        if base.name in DECLARATIVE_ROOTS:
            return True
        if base.name in ("sqlmodel.SQLModel", "sqlmodel.main.SQLModel"):
            return any(k == "table" and v.const is True for k, v in cls.keywords)
        if base.text.endswith(".Model"):  # Flask-SQLAlchemy: db = SQLAlchemy(); class X(db.Model)
            owner = self.project.assignment(module, "", base.text.rsplit(".", 1)[0])
            if owner is not None and owner.value is not None and owner.value.name.endswith("SQLAlchemy"):
                return True
        assigned = self._module_level_value(module, base)
        if assigned is not None and assigned.kind == "call" and assigned.name.endswith(BASE_FACTORIES):
            return True
        found = self.graph.class_from_name(module, base.text, base.name)
        if found is None:
            return False
        parent_module, parent = found
        if parent.qualname == cls.qualname and parent_module is module:
            return False
        if self._is_model(parent_module, parent, depth + 1):
            return True
        # SQLModel table=True on the subclass of a SQLModel base.
        return any(k == "table" and v.const is True for k, v in cls.keywords) and any(
            b.name in ("sqlmodel.SQLModel", "sqlmodel.main.SQLModel") for b in parent.bases)

    def _module_level_value(self, module: ModuleSummary, base: Value) -> Value | None:
        if "." not in base.text:
            fact = self.project.assignment(module, "", base.text)
            if fact is not None:
                return fact.value
        found = self.project.resolve_symbol(base.name) if base.name else None
        if found is not None:
            fact = self.project.assignment(found[0], "", found[1])
            return fact.value if fact else None
        return None

    # -- what an expression yields ------------------------------------------------------
    def classes_in_annotation(self, module: ModuleSummary, annotation: Value | None,
                              element: bool = False, index: int = -1) -> list[str]:
        """Model names an annotation names: `User`, `User | None`, `Optional[User]`; with
        element=True the element type of `list[User]` / `list[tuple[Book, int]]` (index)."""
        if annotation is None:
            return []
        if annotation.kind == "binop":  # User | None
            return [m for item in annotation.items for m in self.classes_in_annotation(module, item, element, index)]
        if annotation.kind == "subscript":
            head = annotation.text.split("[")[0].rsplit(".", 1)[-1]
            if head in ("Optional", "Union", "Annotated"):
                items = annotation.items[:1] if head == "Annotated" else annotation.items
                return [m for item in items for m in self.classes_in_annotation(module, item, element, index)]
            if element and head in SEQUENCE_TYPES and annotation.items:
                inner = annotation.items[0]
                if index >= 0 and inner.kind == "subscript" and inner.text.split("[")[0] in ("tuple", "Tuple"):
                    inner = inner.arg(index)
                return self.classes_in_annotation(module, inner)
            return []
        if annotation.kind == "const" and isinstance(annotation.const, str):  # "User"
            return self.classes_in_annotation(module, Value("name", annotation.const, name=annotation.const))
        if element:
            return []
        model = self.model_of(module, annotation)
        return [model] if model else []

    def selected_models(self, module: ModuleSummary, values) -> list[str]:
        """Models named by select(Model) / session.get(Model, ...) / query(Model) in values."""
        found = []
        for value in values:
            if value is None:
                continue
            for match in ENTITY.finditer(value.text):
                written = match.group(1)
                resolved = self.graph._import_target(module, written) or written
                model = self.model_of(module, Value("attr" if "." in written else "name", written,
                                                    name=resolved))
                if model and model not in found:
                    found.append(model)
        return found
