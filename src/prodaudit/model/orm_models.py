"""ORM model, first half of the builder: symbols, declarative bases, drafts, columns."""

from __future__ import annotations

from dataclasses import replace

from prodaudit.errors import strict_mode
from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, ClassFact, ModuleSummary
from prodaudit.model.orm_helpers import (
    _DECLARATIVE_BASE,
    _SQLMODEL,
    _Ann,
    _Annotations,
    _callee_is,
    _camel_to_snake,
    _Cls,
    _const_bool,
    _const_str,
    _Draft,
    _eval_name_expr,
    _fk_parts,
    _head_ok,
    _is_revision,
    _Root,
    _tail,
    _timezone,
)
from prodaudit.model.orm_records import (
    ANNOTATION_TYPES,
    COLUMN_CALLS,
    DECLARATIVE_BASE_CLASSES,
    DECLARATIVE_FACTORIES,
    FLASK_SQLALCHEMY,
    MAPPED_WRAPPERS,
    RELATIONSHIP_CALLS,
    SCHEMA_ITEMS,
    SQLMODEL_BASES,
    SQLMODEL_TYPES,
    WRAPPER_CALLS,
    Column,
    TableDef,
)
from prodaudit.model.resolve import ImportTable
from prodaudit.model.values import Value


class _ModelReader:
    """The first half of the builder: symbols, declarative bases, model drafts and columns."""
    def __init__(self, project, kinds: tuple[str, ...]):
        self.project = project
        self.notes: list[str] = []
        self.sources = [m for m in project.summaries(*kinds) if m.problem is None]
        # Alembic revisions: files of kind "migration", and revision files discovery took for
        # source because their folder has another name (src/app/db/revisions/versions/...).
        self.migrations_src = [m for m in project.summaries("migration", *kinds)
                               if m.problem is None and (m.kind == "migration" or _is_revision(m))]
        self.classes: dict[str, _Cls] = {}
        self.assigns_by_scope: dict[str, dict[str, list[AssignFact]]] = {}
        self.imports: dict[str, ImportTable] = {}
        self.drafts: dict[str, _Draft] = {}
        self.tables: list[TableDef] = []
        self._resolving: set[str] = set()
        self._root_cache: dict[tuple[str, str], _Root | _Cls | None] = {}
        # one _Root per declaring assignment, so models of the same Base share it
        self._roots: dict[tuple[str, str, int], _Root] = {}

    # -- symbols -------------------------------------------------------------------------------
    def import_table(self, module: ModuleSummary) -> ImportTable:
        table = self.imports.get(module.path)
        if table is None:
            table = self.imports[module.path] = ImportTable(list(module.imports), module.module)
        return table

    def scoped(self, module: ModuleSummary, scope: str) -> list[AssignFact]:
        by_scope = self.assigns_by_scope.get(module.path)
        if by_scope is None:
            by_scope = self.assigns_by_scope[module.path] = {}
            for fact in module.assignments:
                by_scope.setdefault(fact.scope, []).append(fact)
        return by_scope.get(scope, [])

    def module_assign(self, module: ModuleSummary, name: str) -> AssignFact | None:
        found = None
        for fact in self.scoped(module, ""):
            if fact.target == name:
                found = fact
        return found

    def find(self, module: ModuleSummary, dotted: str) -> tuple[ModuleSummary, ClassFact | AssignFact] | None:
        """The class or module-level assignment a (resolved) name refers to."""
        for cls in module.classes:
            if cls.qualname == dotted:
                return module, cls
        if "." not in dotted:
            assign = self.module_assign(module, dotted)
            if assign is not None:
                return module, assign
            for imp in module.imports:  # `from app.db.base import *`
                if imp.local == "*" and not imp.in_function:
                    found = self.find_global(f"{imp.target}.{dotted}")
                    if found is not None:
                        return found
            return None
        return self.find_global(dotted)

    def find_global(self, dotted: str) -> tuple[ModuleSummary, ClassFact | AssignFact] | None:
        try:
            found = self.project.resolve_symbol(dotted)
        except Exception:  # a malformed name must not stop the model
            if strict_mode():
                raise
            return None
        if found is None:
            return None
        module, rest = found
        for cls in module.classes:
            if cls.qualname == rest:
                return module, cls
        assign = self.module_assign(module, rest) if "." not in rest else None
        return (module, assign) if assign is not None else None

    def class_info(self, module: ModuleSummary, fact: ClassFact) -> _Cls:
        key = f"{module.module}:{fact.qualname}"
        info = self.classes.get(key)
        if info is not None:
            return info
        info = self.classes[key] = _Cls(module, fact, key)
        info.assigns = self.scoped(module, fact.qualname)
        self._resolving.add(key)
        for deco in fact.decorators:
            if _tail(deco.name or deco.text) == "as_declarative" and _head_ok(deco.name or deco.text):
                info.is_root = True
                info.root = _Root("declarative", "declarative-1.x", type_map=self.type_map(info))
        for base in fact.bases:
            found = self.base_of(module, base)
            if isinstance(found, _Cls):
                info.parents.append(found)
                if info.root is None and found.root is not None:
                    info.root = found.root
            elif isinstance(found, _Root):
                if found.kind == "declarative" and found is _DECLARATIVE_BASE:
                    info.is_root = True
                    found = _Root("declarative", "declarative-2.0", type_map=self.type_map(info))
                if info.root is None:
                    info.root = found
                if found.extra_base is not None:
                    info.parents.append(found.extra_base)
        self._resolving.discard(key)
        return info

    def type_map(self, info: _Cls) -> Value | None:
        for fact in info.assigns:
            if fact.target == "type_annotation_map" and fact.value is not None and fact.value.kind == "dict":
                return fact.value
        return None

    def base_of(self, module: ModuleSummary, base: Value, depth: int = 0) -> _Root | _Cls | None:
        name = base.name or base.text
        if base.kind not in ("name", "attr") or depth > 6:
            return None
        if name in DECLARATIVE_BASE_CLASSES:
            return _DECLARATIVE_BASE
        if name in SQLMODEL_BASES:
            return _SQLMODEL
        cache_key = (module.path, name)
        if cache_key in self._root_cache:
            return self._root_cache[cache_key]
        found = self.find(module, name)
        result: _Root | _Cls | None = None
        if found is not None:
            target_module, target = found
            if isinstance(target, ClassFact):
                key = f"{target_module.module}:{target.qualname}"
                if key not in self._resolving:
                    result = self.class_info(target_module, target)
            else:
                result = self.root_from_assignment(target_module, target, depth)
        elif _tail(name) == "Model" and "." in name:
            # Flask-SQLAlchemy: `db.Model` where `db = SQLAlchemy()`
            owner = self.find(module, name.rsplit(".", 1)[0])
            if owner is not None and isinstance(owner[1], AssignFact):
                value = owner[1].value
                if value is not None and value.kind == "call" and value.name in FLASK_SQLALCHEMY:
                    where = (owner[0].path, owner[1].target, owner[1].line)
                    result = self._roots.setdefault(where, _Root("declarative", "declarative-1.x",
                                                                 flask=True))
        self._root_cache[cache_key] = result
        return result

    def root_from_assignment(self, module: ModuleSummary, fact: AssignFact, depth: int) -> _Root | _Cls | None:
        value = fact.value
        if value is None:
            return None
        if value.kind == "call":
            name = value.name or value.text
            if name in DECLARATIVE_FACTORIES or (_tail(name) == "generate_base" and _head_ok(name)):
                where = (module.path, fact.target, fact.line)
                if where in self._roots:
                    return self._roots[where]
                root = self._roots[where] = _Root("declarative", "declarative-1.x")
                custom = value.keyword("cls")
                if custom is not None:
                    found = self.base_of(module, custom, depth + 1)
                    if isinstance(found, _Cls):
                        root.extra_base = found
                return root
            return None
        if value.kind in ("name", "attr"):  # Base = _Base
            return self.base_of(module, value, depth + 1)
        return None

    # -- models ----------------------------------------------------------------------------------
    def ancestors(self, info: _Cls) -> list[_Cls]:
        """Project base classes, nearest first, roughly in method resolution order."""
        order: list[_Cls] = []

        def visit(cls: _Cls, depth: int) -> None:
            if depth > 20:
                return
            for parent in cls.parents:
                if parent in order:
                    order.remove(parent)
                order.append(parent)
                visit(parent, depth + 1)

        visit(info, 0)
        # keep-last DFS: shared bases move after the branches that use them
        return order

    def is_abstract(self, info: _Cls) -> bool:
        for fact in info.assigns:
            if fact.target == "__abstract__":
                return _const_bool(fact.value) is True
        return False

    def is_model(self, info: _Cls) -> bool:
        if info.root is None or info.is_root:
            return False
        if info.root.kind == "sqlmodel":
            for key, value in info.fact.keywords:
                if key == "table":
                    return _const_bool(value) is True
            return False
        return not self.is_abstract(info)

    def build_models(self) -> None:
        for module in self.sources:
            for fact in module.classes:
                try:
                    info = self.class_info(module, fact)
                    if self.is_model(info):
                        self.drafts[info.key] = self.draft(info)
                        if self.drafts[info.key].table is None and not self.mapped_parent(info):
                            self.notes.append(f"{module.path}:{fact.line}: table name of model "
                                              f"{fact.qualname} is not a literal; unknown")
                except Exception as exc:  # odd code: skip the class, say so
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{module.path}:{fact.line}: class {fact.qualname} not read "
                                      f"({exc.__class__.__name__}: {exc})")
        # Second pass, once every model and its columns are known: inherited tables, then
        # ForeignKey(Model.attr) references, then table-level constraints.
        for step in (self.inherit, self.resolve_pending, self.table_level):
            for draft in list(self.drafts.values()):
                try:
                    step(draft)
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{draft.cls.module.path}:{draft.cls.fact.line}: "
                                      f"{draft.cls.fact.qualname} partly read "
                                      f"({step.__name__}: {exc.__class__.__name__})")

    def own_tablename(self, info: _Cls) -> tuple[bool, str | None]:
        """(declared here?, the name when known)."""
        table_call = self.own_table_call(info)
        if table_call is not None:
            return True, self.table_name_of(info.module, table_call.arg(0))
        for fact in reversed(info.assigns):
            if fact.target == "__tablename__":
                text = _const_str(fact.value)
                if text is None and fact.value is not None:
                    resolved = self.project.constant(fact.value, info.module)
                    text = resolved if isinstance(resolved, str) else None
                return True, text
        if "__tablename__" in info.fact.methods:
            return True, self.derived_tablename(info, info)
        return False, None

    def own_table_call(self, info: _Cls) -> Value | None:
        """`__table__ = Table("users", metadata, Column(...))` in the class body."""
        for fact in reversed(info.assigns):
            if fact.target == "__table__" and fact.value is not None and self.is_table_call(fact.value):
                return fact.value
        return None

    def derived_tablename(self, owner: _Cls, model: _Cls) -> str | None:
        """A `@declared_attr def __tablename__(cls)` returning cls.__name__.lower() & co."""
        fn = owner.module.function(f"{owner.fact.qualname}.__tablename__")
        if fn is None or len(fn.return_values) != 1 or fn.return_values[0] is None:
            return None
        return _eval_name_expr(fn.return_values[0], model.fact.name)

    def draft(self, info: _Cls) -> _Draft:
        root = info.root
        assert root is not None
        sqlmodel = root.kind == "sqlmodel"
        declared, table = self.own_tablename(info)
        ancestors = self.ancestors(info)
        if not declared:
            if sqlmodel:
                table = info.fact.name.lower()
            else:
                table = None
                for anc in ancestors:
                    if self.is_model(anc):
                        continue  # a mapped parent: inherit() decides (single-table inheritance)
                    has, name = self.own_tablename(anc)
                    if has:
                        derived_here = "__tablename__" in anc.fact.methods
                        table = self.derived_tablename(anc, info) if derived_here else name
                        break
                else:
                    if root.flask:
                        table = _camel_to_snake(info.fact.name)
        draft = _Draft(info, table, "sqlmodel" if sqlmodel else root.style)
        annotations = _Annotations(self.import_table(info.module))
        # Columns of mixins and abstract bases first (farthest first), then the class's own.
        sources = [*reversed(self.unmapped_ancestors(info, ancestors)), info]
        if sqlmodel:
            sources = [*reversed(ancestors), info]
        seen: dict[str, int] = {}
        for owner in sources:
            owner_ann = annotations if owner is info else _Annotations(self.import_table(owner.module))
            for attribute, value, annotation, line in self.members(owner):
                try:
                    kind, item = self.member(draft, owner, owner_ann, attribute, value, annotation, line)
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{owner.module.path}:{line}: {owner.fact.qualname}.{attribute} "
                                      f"not read ({exc.__class__.__name__})")
                    continue
                if kind is None:
                    continue
                if kind == "column":
                    if attribute in seen:
                        draft.columns[seen[attribute]] = item
                    else:
                        seen[attribute] = len(draft.columns)
                        draft.columns.append(item)
                else:
                    draft.relationships = [r for r in draft.relationships if r.attribute != attribute]
                    draft.relationships.append(item)
        table_call = self.own_table_call(info)
        if table_call is not None:
            columns, indexes, fks, pk = self.core_parts(info.module, table, table_call.items[1:], info.key)
            draft.columns[:0] = columns
            draft.indexes.extend(indexes)
            draft.foreign_keys.extend(fks)
            draft.primary_key.extend(pk)
            draft.style = "declarative-1.x"
            return draft
        if not sqlmodel:
            styles = {self.style_of(owner) for owner in sources} - {None}
            if "declarative-2.0" in styles:
                draft.style = "declarative-2.0"
            elif styles:
                draft.style = "declarative-1.x"
        return draft

    @staticmethod
    def style_of(owner: _Cls) -> str | None:
        """2.0 when the class body uses Mapped[] or mapped_column(), 1.x for bare Column()."""
        style = None
        for fact in owner.assigns:
            if (fact.annotation is not None and fact.annotation.kind == "subscript"
                    and _tail(fact.annotation.name or fact.annotation.text) in MAPPED_WRAPPERS):
                return "declarative-2.0"
            if _callee_is(fact.value, {"mapped_column"}):
                return "declarative-2.0"
            if _callee_is(fact.value, COLUMN_CALLS | RELATIONSHIP_CALLS):
                style = "declarative-1.x"
        return style

    def mapped_parent(self, info: _Cls) -> bool:
        return any(self.is_model(a) for a in self.ancestors(info))

    def unmapped_ancestors(self, info: _Cls, ancestors: list[_Cls]) -> list[_Cls]:
        """Mixins and abstract bases whose columns this class maps itself: not the mapped
        parents, nor what those parents already brought in."""
        behind_mapped: set[str] = set()
        for anc in ancestors:
            if self.is_model(anc):
                behind_mapped.add(anc.key)
                behind_mapped.update(a.key for a in self.ancestors(anc))
        return [a for a in ancestors if a.key not in behind_mapped]

    def members(self, owner: _Cls):
        """(attribute, value, annotation, line) of a class body, plus declared_attr methods."""
        for fact in owner.assigns:
            if "." in fact.target or fact.augmented:
                continue
            yield fact.target, fact.value, fact.annotation, fact.line
        for method in owner.fact.methods:
            fn = owner.module.function(f"{owner.fact.qualname}.{method}")
            if fn is None or method.startswith("__"):
                continue
            if any(_tail((d.name or d.text).split(".directive")[0].split(".cascading")[0]) == "declared_attr"
                   for d in fn.decorators) and len(fn.return_values) == 1:
                yield method, fn.return_values[0], fn.returns, fn.line

    def member(self, draft: _Draft, owner: _Cls, annotations: _Annotations, attribute: str,
               value: Value | None, annotation: Value | None, line: int):
        """("column" | "relationship" | None, the record)."""
        if attribute.startswith("__"):
            return None, None
        location = Location(owner.module.path, line)
        ann = annotations.of(annotation)
        if ann is not None and ann.classvar:
            return None, None
        if _callee_is(value, WRAPPER_CALLS) and value.items and _callee_is(value.items[0], COLUMN_CALLS):
            value = value.items[0]  # deferred(Column(...))
        if draft.style == "sqlmodel":
            if attribute.startswith("_") or annotation is None:
                return None, None  # pydantic private attributes and plain class attributes
            if _callee_is(value, {"Relationship"}):
                return "relationship", self.sqlmodel_relationship(draft, owner, attribute, value, ann, location)
            return "column", self.sqlmodel_column(draft, owner, attribute, value, ann, location)
        if ann is not None and ann.wrapper is not None and (value is None or _callee_is(value, {"mapped_column"})):
            ann, value = self.expand_alias(owner.module, ann, value)
        if _callee_is(value, COLUMN_CALLS):
            return "column", self.column(draft, owner.module, attribute, value, ann, location)
        if _callee_is(value, RELATIONSHIP_CALLS):
            return "relationship", self.relationship(draft, owner, attribute, value, ann, location)
        if value is None and ann is not None and ann.wrapper is not None:
            if ann.collection or (ann.base and self.model_key(owner.module, ann) is not None):
                self.notes.append(f"{owner.module.path}:{line}: {owner.fact.qualname}.{attribute} "
                                  "is annotated with a mapped class but has no relationship()")
                return None, None
            return "column", self.column(draft, owner.module, attribute, None, ann, location)
        return None, None

    def expand_alias(self, module: ModuleSummary, ann: _Ann, value: Value | None) -> tuple[_Ann, Value | None]:
        """Mapped[intpk] with `intpk = Annotated[int, mapped_column(primary_key=True)]`: the type
        inside, and the alias's mapped_column() arguments under the ones written here.
        `MaybeStr = str | None` reads as its type; other aliases (NewType, ...) are unknown."""
        name = ann.resolved or ann.base
        if not name or name in ANNOTATION_TYPES or ann.collection:
            return ann, value
        found = self.find(module, name)
        if found is None or not isinstance(found[1], AssignFact) or found[1].value is None:
            return ann, value
        alias_module, alias = found[0], found[1].value
        shapes = _Annotations(self.import_table(alias_module))
        if alias.kind != "subscript" or _tail(alias.name or alias.text) != "Annotated" or not alias.items:
            if alias.kind in ("subscript", "binop", "name", "attr"):
                inner = shapes.shape(alias)
                if inner.known and not inner.collection:
                    inner.wrapper = ann.wrapper
                    inner.optional = True if ann.optional else inner.optional
                    return inner, value
            return _Ann(optional=None, wrapper=ann.wrapper), value
        inner = shapes.shape(alias.items[0])
        inner.wrapper = ann.wrapper
        if ann.optional:
            inner.optional = True
        extra = next((i for i in alias.items[1:] if _callee_is(i, {"mapped_column"})), None)
        if extra is not None:
            if value is None:
                value = extra
            else:
                value = replace(value, items=value.items or extra.items,
                                keywords=value.keywords + extra.keywords)  # written ones first
        return inner, value

    # -- columns ---------------------------------------------------------------------------------
    def column(self, draft: _Draft | None, module: ModuleSummary, attribute: str, call: Value | None,
               ann: _Ann | None, location: Location, style: str = "declarative") -> Column:
        name = attribute
        type_value: Value | None = None
        type_name: str | None = None
        foreign_key: str | None = None
        ondelete: str | None = None
        has_fk = False
        items = list(call.items) if call is not None else []
        if items and _const_str(items[0]) is not None:
            name = _const_str(items[0]) or name
            items = items[1:]
        for item in items:
            tail = _tail(item.name or item.text) if item.kind in ("call", "name", "attr") else ""
            if item.kind == "call" and tail == "ForeignKey":
                has_fk = True
                target, ondelete = _fk_parts(item)
                foreign_key = self.fk_text(draft, attribute, target, module)
            elif tail in SCHEMA_ITEMS:
                continue
            elif type_value is None and item.kind in ("call", "name", "attr", "subscript", "other"):
                type_value = item
        if call is not None:
            explicit_name = _const_str(call.keyword("name"))
            if explicit_name:
                name = explicit_name
            if call.keyword("type_") is not None:
                type_value = call.keyword("type_")
        if type_value is not None:
            type_name = _tail(type_value.name or type_value.text.split("(")[0]) if type_value.kind != "other" else None
        elif ann is not None and ann.known and not ann.collection:
            type_value, type_name = self.annotation_type(draft, module, ann)
        if type_name is None and type_value is None and has_fk:
            type_name = "ForeignKey"
        primary_key = _const_bool(call.keyword("primary_key")) is True if call is not None else False
        explicit_nullable = call.keyword("nullable") if call is not None else None
        if explicit_nullable is not None:
            nullable = _const_bool(explicit_nullable)
        elif primary_key:
            nullable = False
        elif call is None or _tail(call.name or call.text) == "mapped_column":
            # 2.0: Mapped[str] is NOT NULL, Mapped[str | None] is nullable
            if ann is None or ann.wrapper is None:
                nullable = True
            else:
                nullable = ann.optional
        else:
            nullable = True
        index = _const_bool(call.keyword("index")) is True if call is not None else False
        unique = _const_bool(call.keyword("unique")) is True if call is not None else False
        return Column(name=name, attribute=attribute if style == "declarative" else "",
                      type_name=type_name, nullable=nullable, primary_key=primary_key, index=index,
                      unique=unique, foreign_key=foreign_key, ondelete=ondelete,
                      timezone=_timezone(type_name, type_value), location=location)

    def annotation_type(self, draft: _Draft | None, module: ModuleSummary, ann: _Ann,
                        sqlmodel: bool = False) -> tuple[Value | None, str | None]:
        root = draft.cls.root if draft is not None else None
        if root is not None and root.type_map is not None:
            for key, mapped in root.type_map.keywords:
                if ann.base and (key == ann.base or _tail(key) == _tail(ann.base)):
                    if mapped.kind in ("call", "name", "attr"):
                        return mapped, _tail(mapped.name or mapped.text.split("(")[0])
                    return None, None
        resolved = ann.resolved or ann.base or ""
        table = SQLMODEL_TYPES if sqlmodel else ANNOTATION_TYPES
        if resolved in table:
            return None, table[resolved]
        if self.is_enum(module, resolved):
            return None, "Enum"
        return None, None

    def is_enum(self, module: ModuleSummary, dotted: str) -> bool:
        if not dotted:
            return False
        found = self.find(module, dotted)
        if found is None or not isinstance(found[1], ClassFact):
            return False
        return any((b.name or b.text).startswith("enum.") for b in found[1].bases)

    def fk_text(self, draft: _Draft | None, attribute: str, target: Value | None,
                module: ModuleSummary) -> str | None:
        if target is None:
            return None
        text = _const_str(target)
        if text is not None:
            return text
        if target.kind == "attr" and draft is not None:
            draft.pending_fks.append((attribute, target, module))
        return None
