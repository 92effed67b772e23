"""ORM model, second half of the builder: SQLModel columns, relationships, tables."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from prodaudit.errors import strict_mode
from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, CallFact, ClassFact, ModuleSummary
from prodaudit.model.orm_helpers import (
    _Ann,
    _arg,
    _callee_is,
    _Cls,
    _const_bool,
    _const_str,
    _Draft,
    _head_ok,
    _lazy,
    _literal_str,
    _name_list,
    _tail,
    _timezone,
    _tuple_of,
    _unwrap_name,
    _with_table_fks,
)
from prodaudit.model.orm_models import _ModelReader
from prodaudit.model.orm_records import (
    MAPPED_WRAPPERS,
    RELATIONSHIP_CALLS,
    Column,
    ForeignKey,
    Index,
    Model,
    Relationship,
    TableDef,
)
from prodaudit.model.values import Value


class _Builder(_ModelReader):
    """The second half: SQLModel columns, relationships, table-level constraints, Core tables."""

    # -- columns (SQLModel) -----------------------------------------------------------------
    def sqlmodel_column(self, draft: _Draft, owner: _Cls, attribute: str, value: Value | None,
                        ann: _Ann | None, location: Location) -> Column:
        field_call = value if _callee_is(value, {"Field"}) else None
        if field_call is not None:
            sa_column = field_call.keyword("sa_column")
            if _callee_is(sa_column, {"Column"}):
                return self.column(draft, owner.module, attribute, sa_column, None, location)
        get = field_call.keyword if field_call is not None else (lambda _key: None)
        primary_key = _const_bool(get("primary_key")) is True
        if get("nullable") is not None:
            nullable = _const_bool(get("nullable"))
        elif primary_key:
            nullable = False
        elif ann is None or not ann.known:
            nullable = None
        else:
            nullable = bool(ann.optional)
        type_value = get("sa_type")
        if type_value is not None:
            type_name = _tail(type_value.name or type_value.text.split("(")[0]) if type_value.kind != "other" else None
        elif ann is not None and ann.known:
            _, type_name = self.annotation_type(None, owner.module, ann, sqlmodel=True)
        else:
            type_name = None
        foreign_key = _const_str(get("foreign_key"))
        if get("foreign_key") is not None and foreign_key is None:
            foreign_key = self.fk_text(draft, attribute, get("foreign_key"), owner.module)
        name = _const_str(get("sa_column_kwargs").keyword("name")) if get("sa_column_kwargs") is not None else None
        return Column(name=name or attribute, attribute=attribute, type_name=type_name, nullable=nullable,
                      primary_key=primary_key, index=_const_bool(get("index")) is True,
                      unique=_const_bool(get("unique")) is True, foreign_key=foreign_key,
                      ondelete=_const_str(get("ondelete")), timezone=_timezone(type_name, type_value),
                      location=location)

    # -- relationships -------------------------------------------------------------------------
    def relationship(self, draft: _Draft, owner: _Cls, attribute: str, call: Value, ann: _Ann | None,
                     location: Location) -> Relationship:
        first = _arg(call, 0, "argument")
        target, resolved = self.target_of(first, ann)
        lazy: str | None = "select"
        if ann is not None and ann.wrapper in ("WriteOnlyMapped", "DynamicMapped"):
            lazy = MAPPED_WRAPPERS[ann.wrapper]
        if _tail(call.name or call.text) == "dynamic_loader":
            lazy = "dynamic"
        if call.keyword("lazy") is not None:
            lazy = _lazy(call.keyword("lazy"), self.project, owner.module)
        uselist = _const_bool(call.keyword("uselist"))
        if call.keyword("uselist") is None and ann is not None and ann.known:
            uselist = bool(ann.collection) or ann.wrapper in ("WriteOnlyMapped", "DynamicMapped")
        backref_value = call.keyword("backref")
        backref = _const_str(backref_value)
        if backref is None and backref_value is not None and backref_value.kind == "call" and backref_value.items:
            backref = _const_str(backref_value.items[0])
        secondary = call.keyword("secondary")
        return Relationship(
            attribute=attribute, target=target,
            target_model=self.pend_target(draft, owner.module, attribute, target, resolved),
            lazy=lazy, cascade=_literal_str(call.keyword("cascade"), self.project, owner.module),
            back_populates=_literal_str(call.keyword("back_populates"), self.project, owner.module),
            uselist=uselist,
            location=location, backref=backref,
            secondary=(_const_str(secondary) or secondary.text) if secondary is not None else None,
            passive_deletes=_const_bool(call.keyword("passive_deletes")))

    def sqlmodel_relationship(self, draft: _Draft, owner: _Cls, attribute: str, call: Value,
                              ann: _Ann | None, location: Location) -> Relationship:
        full = call.keyword("sa_relationship")
        if _callee_is(full, RELATIONSHIP_CALLS):  # Relationship(sa_relationship=relationship(...))
            return self.relationship(draft, owner, attribute, full, ann, location)
        target, resolved = self.target_of(None, ann)
        kwargs = call.keyword("sa_relationship_kwargs")
        literal = kwargs is not None and (kwargs.kind == "dict" or (
            kwargs.kind == "call" and kwargs.name == "dict" and not kwargs.items))
        options = dict(kwargs.keywords) if literal else {}
        lazy = _lazy(options["lazy"], self.project, owner.module) if "lazy" in options else "select"
        if kwargs is not None and not literal:
            lazy = None  # the options are not a literal: lazy could be anything
        cascade = "all, delete-orphan" if _const_bool(call.keyword("cascade_delete")) else None
        if "cascade" in options:
            cascade = _const_str(options["cascade"])
        uselist = _const_bool(options["uselist"]) if "uselist" in options else (
            bool(ann.collection) if ann is not None and ann.known else None)
        link = call.keyword("link_model")
        passive = call.keyword("passive_deletes")
        if "passive_deletes" in options:
            passive = options["passive_deletes"]
        return Relationship(
            attribute=attribute, target=target,
            target_model=self.pend_target(draft, owner.module, attribute, target, resolved),
            lazy=lazy, cascade=cascade, back_populates=_const_str(call.keyword("back_populates")),
            uselist=uselist, location=location,
            secondary=link.text if link is not None else None,
            passive_deletes=_const_bool(passive))

    def target_of(self, first: Value | None, ann: _Ann | None) -> tuple[str | None, str | None]:
        """(target as written, its dotted name through imports)."""
        if first is not None:
            text = _const_str(first)
            if text is not None:
                return text, None
            if first.kind in ("name", "attr"):
                return first.text, first.name
            match = re.match(r"^lambda\s*:\s*([\w.]+)$", first.text)
            if match:
                return match.group(1), None
            return None, None
        if ann is not None and ann.base:
            return ann.base, ann.resolved
        return None, None

    def model_key(self, module: ModuleSummary, ann: _Ann) -> str | None:
        if not ann.base:
            return None
        found = self.find(module, ann.resolved or ann.base)
        if found is None or not isinstance(found[1], ClassFact):
            return None
        info = self.classes.get(f"{found[0].module}:{found[1].qualname}")
        if info is None:
            info = self.class_info(found[0], found[1])
        return info.key if self.is_model(info) else None

    @staticmethod
    def pend_target(draft: _Draft, module: ModuleSummary, attribute: str, target: str | None,
                    resolved: str | None) -> None:
        """The target model is looked up once every model is known (resolve_targets)."""
        if target is not None:
            draft.pending_targets[attribute] = (module, target, resolved)
        else:
            draft.pending_targets.pop(attribute, None)

    def resolve_targets(self) -> None:
        by_name: dict[str, list[_Draft]] = {}
        for draft in self.drafts.values():
            by_name.setdefault(draft.cls.fact.name, []).append(draft)
        for draft in self.drafts.values():
            fixed = []
            for rel in draft.relationships:
                pending = draft.pending_targets.get(rel.attribute)
                if pending is not None:
                    module, target, resolved = pending
                    key = self.lookup_model(module, target, resolved, draft, by_name)
                    if key is None:
                        self.notes.append(f"{rel.location}: relationship {draft.cls.fact.name}."
                                          f"{rel.attribute} -> {target}: target model not found")
                    rel = replace(rel, target_model=key)
                fixed.append(rel)
            draft.relationships = fixed
            draft.pending_targets = {}

    def lookup_model(self, module: ModuleSummary | None, target: str, resolved: str | None,
                     draft: _Draft, by_name: dict[str, list[_Draft]]) -> str | None:
        if module is not None:
            for candidate in (resolved, target):
                if candidate and "." in candidate:
                    found = self.find_global(candidate)
                    if found is not None and isinstance(found[1], ClassFact):
                        key = f"{found[0].module}:{found[1].qualname}"
                        if key in self.drafts:
                            return key
            if resolved and resolved != target and "." not in target:
                found = self.find(module, target)
                if found is not None and isinstance(found[1], ClassFact):
                    key = f"{found[0].module}:{found[1].qualname}"
                    if key in self.drafts:
                        return key
        # SQLAlchemy's registry resolves a class name among the classes of the same base.
        candidates = by_name.get(_tail(target), [])
        same_root = [c for c in candidates if c.cls.root is draft.cls.root]
        pool = same_root or candidates
        if len(pool) == 1:
            return pool[0].cls.key
        same_module = [c for c in pool if c.cls.module is draft.cls.module]
        return same_module[0].cls.key if len(same_module) == 1 else None

    def add_backrefs(self) -> None:
        for draft in list(self.drafts.values()):
            for rel in list(draft.relationships):
                if not rel.backref or not rel.target_model or rel.target_model not in self.drafts:
                    continue
                other = self.drafts[rel.target_model]
                if any(r.attribute == rel.backref for r in other.relationships):
                    continue
                options = self.backref_options(draft, rel)
                lazy = (_lazy(options["lazy"], self.project, draft.cls.module) if "lazy" in options
                        else "select")
                other.relationships.append(Relationship(
                    attribute=rel.backref, target=draft.cls.fact.name, target_model=draft.cls.key,
                    lazy=lazy, cascade=_const_str(options.get("cascade")), back_populates=None,
                    uselist=_const_bool(options.get("uselist")), location=rel.location,
                    secondary=rel.secondary,
                    passive_deletes=_const_bool(options.get("passive_deletes")),
                    backref_of=f"{draft.cls.fact.name}.{rel.attribute}"))

    def backref_options(self, draft: _Draft, rel: Relationship) -> dict[str, Value]:
        for fact in draft.cls.assigns:
            if fact.target == rel.attribute and fact.value is not None:
                value = fact.value.keyword("backref")
                if value is not None and value.kind == "call":
                    return dict(value.keywords)
        return {}

    # -- table-level constraints ---------------------------------------------------------------
    def table_level(self, draft: _Draft) -> None:
        info = draft.cls
        ancestors = self.unmapped_ancestors(info, self.ancestors(info))
        table = draft.table
        for column in draft.columns:
            if column.primary_key:
                draft.primary_key.append(column.name)
            if column.index or column.unique:
                draft.indexes.append(Index(None, (column.name,), column.unique, column.location, "model", table))
            if column.foreign_key:
                draft.foreign_keys.append(ForeignKey(
                    table, (column.name,), (column.foreign_key,), column.ondelete, column.location,
                    "model", owner=info.key))
        args_fact = None
        for owner in [info, *ancestors]:
            for fact in owner.assigns:
                if fact.target == "__table_args__":
                    args_fact = (owner, fact)
            if args_fact is not None:
                break
        if args_fact is None:
            for owner in [info, *ancestors]:
                if "__table_args__" in owner.fact.methods:
                    self.notes.append(f"{owner.module.path}:{owner.fact.line}: {owner.fact.qualname}."
                                      "__table_args__ is computed; its constraints are unknown")
                    break
            return
        owner, fact = args_fact
        items = self.table_args(owner.module, fact)
        if items is None:
            self.notes.append(f"{owner.module.path}:{fact.line}: {owner.fact.qualname}.__table_args__ "
                              "is not a literal; its constraints are unknown")
            return
        self.constraints(items, owner.module.path, table, draft.indexes, draft.foreign_keys,
                         draft.primary_key, "model", info.key, names=self.column_names(draft),
                         module=owner.module)
        for item in items:
            if item.kind == "dict":
                draft.schema = _literal_str(item.keyword("schema"), self.project, owner.module)
        draft.columns = _with_table_fks(draft.columns, draft.foreign_keys)
        pk = set(draft.primary_key)
        draft.columns = [replace(c, primary_key=True, nullable=False if c.nullable else c.nullable)
                         if c.name in pk and not c.primary_key else c for c in draft.columns]

    def table_args(self, module: ModuleSummary, fact: AssignFact) -> list[Value] | None:
        value = fact.value
        if value is not None and value.kind in ("name", "attr"):
            target = self.module_assign(module, value.text) if "." not in value.text else None
            value = target.value if target is not None else None
        if value is None:
            return None
        if value.kind in ("tuple", "list", "dict"):
            return list(value.items) if value.kind != "dict" else [value]
        return None

    @staticmethod
    def column_names(draft: _Draft) -> dict[str, str]:
        names = {c.attribute: c.name for c in draft.columns if c.attribute}
        names.update({c.name: c.name for c in draft.columns})
        return names

    def constraints(self, items: Iterable[Value], path: str, table: str | None, indexes: list[Index],
                    foreign_keys: list[ForeignKey], primary_key: list[str], source: str, owner: str,
                    names: dict[str, str] | None = None, on_fk=None, on_index=None, on_pk=None,
                    module: ModuleSummary | None = None) -> None:
        """Index / UniqueConstraint / PrimaryKeyConstraint / ForeignKeyConstraint values."""
        names = names or {}

        def column(text: str) -> str:
            if text in names:
                return names[text]
            attr = text.rsplit(".", 1)[-1]
            return names.get(attr, text)

        for item in items:
            if item.kind != "call":
                continue
            tail = _tail(item.name or item.text)
            if not _head_ok(item.name or item.text):
                continue
            location = Location(path, item.line)
            if tail == "Index":
                cols = tuple(column(c) for c in _name_list(_tuple_of(item.items[1:])))
                index = Index(_unwrap_name(item.arg(0)), cols, _const_bool(item.keyword("unique")) is True,
                              location, source, table)
                indexes.append(index)
                if on_index:
                    on_index(index, False)
            elif tail == "UniqueConstraint":
                cols = tuple(column(c) for c in _name_list(_tuple_of(item.items)))
                index = Index(_unwrap_name(item.keyword("name")), cols, True, location, source, table)
                indexes.append(index)
                if on_index:
                    on_index(index, True)
            elif tail == "PrimaryKeyConstraint":
                cols = tuple(column(c) for c in _name_list(_tuple_of(item.items)))
                primary_key[:] = list(cols)
                if on_pk:
                    on_pk(cols, _unwrap_name(item.keyword("name")), location)
            elif tail == "ForeignKeyConstraint":
                cols = tuple(column(c) for c in _name_list(_arg(item, 0, "columns")))
                refs = self.references(_arg(item, 1, "refcolumns"), module)
                fk = ForeignKey(table, cols, refs, _const_str(item.keyword("ondelete")), location, source,
                                _unwrap_name(item.keyword("name")), owner)
                foreign_keys.append(fk)
                if on_fk:
                    on_fk(fk)

    def references(self, value: Value | None, module: ModuleSummary | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        items = value.items if value.kind in ("list", "tuple") else (value,)
        refs = []
        for item in items:
            text = _const_str(item)
            if text is None and item.kind == "attr":
                text = self.attr_reference(item, module) or item.text
            refs.append(text if text is not None else item.text)
        return tuple(refs)

    def attr_reference(self, value: Value, module: ModuleSummary | None = None) -> str | None:
        """`Book.id` -> "books.id" once models are known."""
        head, _, attr = value.text.rpartition(".")
        candidates = []
        if value.name and value.name != value.text:
            found = self.find_global(value.name.rpartition(".")[0])
            if found is not None and isinstance(found[1], ClassFact):
                candidates = [d for d in self.drafts.values()
                              if d.cls.key == f"{found[0].module}:{found[1].qualname}"]
        if not candidates:
            candidates = [d for d in self.drafts.values() if d.cls.fact.name == _tail(head)]
            if module is not None and len(candidates) > 1:
                candidates = [d for d in candidates if d.cls.module is module]
        if len(candidates) != 1 or candidates[0].table is None:
            return None
        target = candidates[0]
        column = next((c for c in target.columns if c.attribute == attr), None)
        return f"{target.table}.{column.name if column else attr}"

    def resolve_pending(self, draft: _Draft) -> None:
        for attribute, value, module in draft.pending_fks:
            ref = self.attr_reference(value, module)
            if ref is None:
                # still a foreign key: keep the reference as written ("DispatchUser.id")
                ref = value.text
                self.notes.append(f"{draft.cls.module.path}:{value.line}: ForeignKey({value.text}) of "
                                  f"{draft.cls.fact.qualname}.{attribute}: the referenced table is unknown")
            for i, column in enumerate(draft.columns):
                if column.attribute == attribute and column.foreign_key is None:
                    draft.columns[i] = replace(column, foreign_key=ref)
        draft.pending_fks = []

    def module_level_indexes(self) -> None:
        """`Index("ix_reviews_rating", Review.rating)` after the class."""
        for module in self.sources:
            for call in module.calls:
                if call.scope != "" or _tail(call.name) != "Index" or not _head_ok(call.name):
                    continue
                if not call.args or call.args[0].kind != "const":
                    continue
                owners = {a.text.rpartition(".")[0] for a in call.args[1:] if a.kind == "attr"}
                if len(owners) != 1:
                    continue
                owner = owners.pop()
                drafts = [d for d in self.drafts.values()
                          if d.cls.fact.name == _tail(owner) and d.cls.module is module]
                if len(drafts) != 1:
                    continue
                draft = drafts[0]
                names = self.column_names(draft)
                cols = tuple(names.get(a.text.rpartition(".")[2], a.text.rpartition(".")[2])
                             for a in call.args[1:] if a.kind == "attr")
                draft.indexes.append(Index(_const_str(call.args[0]), cols,
                                           _const_bool(call.keyword("unique")) is True,
                                           Location(module.path, call.line, call.column, call.end_line),
                                           "model", draft.table))

    def inherit(self, draft: _Draft) -> None:
        """Mapped parents: single-table inheritance takes the parent's table."""
        for anc in self.ancestors(draft.cls):
            if anc.key in self.drafts and anc.key != draft.cls.key:
                draft.parent = anc.key
                declared, _ = self.own_tablename(draft.cls)
                if not declared and draft.cls.root.kind != "sqlmodel":
                    parent = self.drafts[anc.key]
                    has_pk = any(c.primary_key for c in draft.columns)
                    if not (draft.cls.root.flask and has_pk):
                        draft.table = parent.table
                break

    # -- Core tables -------------------------------------------------------------------------------
    @staticmethod
    def is_table_call(value: Value | CallFact) -> bool:
        """sqlalchemy.Table(...), or an unresolved `db.Table(...)` / `Table(...)` with columns."""
        name = value.name
        callee = value.callee if isinstance(value, CallFact) else value.text.split("(")[0]
        args = value.args if isinstance(value, CallFact) else value.items
        if _tail(name) != "Table" or not args:
            return False
        if name.startswith(("sqlalchemy.", "sqlmodel.")):
            return True
        return name == callee and any(_callee_is(a, {"Column"}) for a in args)

    def core_tables(self) -> None:
        for module in self.sources:
            for call in module.calls:
                if not self.is_table_call(call):
                    continue
                if call.scope and call.target == "__table__":
                    continue  # a model's table, read with the model
                try:
                    self.tables.append(self.core_table(module, call))
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{module.path}:{call.line}: table not read ({exc.__class__.__name__})")

    def table_name_of(self, module: ModuleSummary, value: Value | None) -> str | None:
        text = _const_str(value)
        if text is None and value is not None:
            resolved = self.project.constant(value, module)
            text = resolved if isinstance(resolved, str) else None
        return text

    def core_parts(self, module: ModuleSummary, table: str | None, args: Iterable[Value], key: str):
        columns: list[Column] = []
        rest: list[Value] = []
        for item in args:
            if _callee_is(item, {"Column"}):
                columns.append(self.column(None, module, "", item, None, Location(module.path, item.line),
                                           style="core"))
            else:
                rest.append(item)
        indexes = [Index(None, (c.name,), c.unique, c.location, "model", table)
                   for c in columns if c.index or c.unique]
        fks = [ForeignKey(table, (c.name,), (c.foreign_key,), c.ondelete, c.location, "model", owner=key)
               for c in columns if c.foreign_key]
        pk = [c.name for c in columns if c.primary_key]
        self.constraints(rest, module.path, table, indexes, fks, pk, "model", key, module=module)
        return columns, indexes, fks, pk

    def core_table(self, module: ModuleSummary, call: CallFact) -> TableDef:
        table = self.table_name_of(module, call.args[0])
        name = call.target if "." not in call.target else ""
        key = f"{module.module}:{name}" if name else f"{module.module}:<table {table}>"
        columns, indexes, fks, pk = self.core_parts(module, table, call.args[1:], key)
        return TableDef(name, key, table, tuple(columns), tuple(indexes), tuple(fks), tuple(pk),
                        Location(module.path, call.line, call.column, call.end_line), module.path)

    # -- freeze ------------------------------------------------------------------------------------
    def models(self) -> tuple[Model, ...]:
        models = []
        for draft in self.drafts.values():
            info = draft.cls
            fact = info.fact
            models.append(Model(
                name=fact.name, qualname=info.key, table=draft.table, columns=tuple(draft.columns),
                relationships=tuple(draft.relationships), indexes=tuple(draft.indexes),
                location=Location(info.module.path, fact.line, 0, fact.end_line), style=draft.style,
                path=info.module.path, foreign_keys=tuple(draft.foreign_keys),
                primary_key=tuple(draft.primary_key), parent=draft.parent, schema=draft.schema))
        models.sort(key=lambda m: (m.path, m.location.line))
        return tuple(models)
