"""ORM model: Alembic migration operations replay (see orm.py)."""

from __future__ import annotations

from dataclasses import replace

from prodaudit.errors import strict_mode
from prodaudit.findings import Location
from prodaudit.model.facts import CallFact, ModuleSummary
from prodaudit.model.orm_builder import _Builder
from prodaudit.model.orm_helpers import (
    _arg,
    _callee_is,
    _const_bool,
    _const_str,
    _default_name,
    _explicit_nullable,
    _name_list,
    _split_top,
    _tail,
    _unwrap_name,
    _with_table_fks,
)
from prodaudit.model.orm_records import (
    CREATE_INDEX_SQL,
    DOWNGRADE,
    DROP_INDEX_SQL,
    MAX_CALL_ARGS,
    UPGRADE,
    Column,
    ForeignKey,
    Index,
    MigrationOp,
)
from prodaudit.model.values import Value

# -- migrations ---------------------------------------------------------------------------------
OP_KINDS = frozenset({
    "create_table", "create_index", "add_column", "create_foreign_key", "drop_index",
    "drop_table", "create_unique_constraint", "create_primary_key", "drop_constraint",
    "drop_column", "execute",
})


class _Migrations:
    def __init__(self, builder: _Builder):
        self.builder = builder
        self.project = builder.project
        self.notes = builder.notes
        self.ops: list[MigrationOp] = []

    def ordered(self) -> list[ModuleSummary]:
        """Migration modules in revision order (down_revision before revision), then the rest."""
        modules = self.builder.migrations_src
        revision_of: dict[str, str] = {}
        parents: dict[str, tuple[str, ...]] = {}
        for module in modules:
            rev = self.const_of(module, "revision")
            if isinstance(rev, str):
                revision_of[module.path] = rev
                down = self.down_revisions(module)
                parents[rev] = down
        by_rev = {rev: path for path, rev in sorted(revision_of.items())}
        order: list[str] = []
        seen: set[str] = set()
        # depth-first, parents before children; iterative, as chains run to hundreds
        for path in sorted(revision_of):
            stack = [(revision_of[path], False)]
            while stack:
                rev, ready = stack.pop()
                if ready:
                    order.append(rev)
                    continue
                if rev in seen:
                    continue
                seen.add(rev)
                stack.append((rev, True))
                for parent in reversed(parents.get(rev, ())):
                    if parent in by_rev and parent not in seen:
                        stack.append((parent, False))
        paths = [by_rev[rev] for rev in order]
        rest = sorted(m.path for m in modules if m.path not in revision_of)
        by_path = {m.path: m for m in modules}
        return [by_path[p] for p in paths + rest]

    def const_of(self, module: ModuleSummary, name: str):
        fact = self.builder.module_assign(module, name)
        if fact is None or fact.value is None:
            return None
        return fact.value.const if fact.value.kind == "const" else None

    def down_revisions(self, module: ModuleSummary) -> tuple[str, ...]:
        fact = self.builder.module_assign(module, "down_revision")
        if fact is None or fact.value is None:
            return ()
        value = fact.value
        if value.kind in ("tuple", "list"):
            return tuple(_const_str(i) for i in value.items if _const_str(i))
        text = _const_str(value)
        return (text,) if text else ()

    def build(self) -> None:
        for module in self.ordered():
            revision = self.const_of(module, "revision")
            revision = revision if isinstance(revision, str) else None
            for call in module.calls:
                try:
                    before = len(self.ops)
                    self.call(module, call, revision)
                    schema = _const_str(call.keyword("schema"))
                    if schema and len(self.ops) > before:
                        self.ops[before:] = [replace(op, schema=schema) for op in self.ops[before:]]
                except Exception as exc:
                    if strict_mode():  # tests: our bugs must show, not become notes
                        raise
                    self.notes.append(f"{module.path}:{call.line}: migration call {call.callee} not read "
                                      f"({exc.__class__.__name__})")

    def op_name(self, module: ModuleSummary, call: CallFact) -> tuple[str, str | None] | None:
        """(operation, batch table) for op.X(...) and batch_op.X(...) calls."""
        name = call.name
        if name.startswith("alembic.op."):
            op = name[len("alembic.op."):]
            return (op, None) if op in OP_KINDS else None
        head, _, op = call.callee.rpartition(".")
        if op not in OP_KINDS or not head:
            return None
        if head == "op":
            return op, None
        # `with op.batch_alter_table("t") as batch_op:` -> the nearest one before this call
        batch = None
        for other in module.calls:
            if other.line > call.line:
                continue
            if (other.with_item and other.target == head and other.scope == call.scope
                    and _tail(other.name) == "batch_alter_table"
                    and (batch is None or other.line >= batch.line)):
                batch = other
        if batch is None:
            return None
        table = _const_str(_arg(batch, 0, "table_name"))
        if table is None and batch.args:
            resolved = self.project.constant(batch.args[0], module)
            table = resolved if isinstance(resolved, str) else None
        return op, table or ""

    def table_name(self, module: ModuleSummary, value: Value | None) -> str | None:
        if value is None:
            return None
        text = _unwrap_name(value)
        if text is not None:
            return text
        resolved = self.project.constant(value, module)
        return resolved if isinstance(resolved, str) else None

    def call(self, module: ModuleSummary, call: CallFact, revision: str | None) -> None:
        found = self.op_name(module, call)
        if found is None:
            return
        op, batch_table = found
        batch = batch_table is not None
        scope = call.scope.split(".", 1)[0]
        phase = UPGRADE if scope.startswith(UPGRADE) else DOWNGRADE if scope.startswith(DOWNGRADE) else ""
        location = Location(module.path, call.line, call.column, call.end_line)
        base = {"location": location, "phase": phase, "revision": revision}

        def emit(kind: str, table: str | None, columns: tuple[str, ...] = (), name: str | None = None,
                 **extra) -> None:
            self.ops.append(MigrationOp(kind=kind, table=table, columns=columns, name=name,
                                        ondelete=extra.pop("ondelete", None),
                                        unique=extra.pop("unique", False), **{**base, **extra}))

        # positions shift by one in batch mode: the table comes from batch_alter_table
        shift = 0 if batch else 1
        table = batch_table if batch else None
        if op == "create_table":
            self.create_table(module, call, base)
        elif op == "create_index":
            name = _unwrap_name(_arg(call, 0, "index_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            cols = _name_list(_arg(call, shift + 1, "columns"))
            emit("create_index", table, cols, name, unique=_const_bool(call.keyword("unique")) is True)
        elif op == "drop_index":
            name = _unwrap_name(_arg(call, 0, "index_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("drop_index", table, (), name)
        elif op == "add_column":
            if not batch:
                table = self.table_name(module, _arg(call, 0, "table_name"))
            column_value = _arg(call, shift, "column")
            if _callee_is(column_value, {"Column"}):
                column = self.builder.column(None, module, "", column_value, None,
                                             Location(module.path, column_value.line), style="core")
                emit("add_column", table, (column.name,), None, column_defs=(column,))
                self.inline_column_ops(table, column, base)
            else:
                emit("add_column", table, (), None)
        elif op == "drop_column":
            if not batch:
                table = self.table_name(module, _arg(call, 0, "table_name"))
            name = _unwrap_name(_arg(call, shift, "column_name"))
            emit("drop_column", table, (name,) if name else (), None)
        elif op == "create_foreign_key":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "source_table"))
            referent = self.table_name(module, _arg(call, shift + 1, "referent_table"))
            local = _name_list(_arg(call, shift + 2, "local_cols"))
            remote = _name_list(_arg(call, shift + 3, "remote_cols"))
            refs = tuple(f"{referent}.{c}" if referent else c for c in remote)
            emit("create_foreign_key", table, local, name, ondelete=_const_str(call.keyword("ondelete")),
                 references=refs)
        elif op == "create_unique_constraint":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("create_unique_constraint", table, _name_list(_arg(call, shift + 1, "columns")), name,
                 unique=True)
        elif op == "create_primary_key":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("create_primary_key", table, _name_list(_arg(call, shift + 1, "columns")), name)
        elif op == "drop_constraint":
            name = _unwrap_name(_arg(call, 0, "constraint_name"))
            if not batch:
                table = self.table_name(module, _arg(call, 1, "table_name"))
            emit("drop_constraint", table, (), name, constraint_type=_const_str(call.keyword("type_")))
        elif op == "drop_table":
            emit("drop_table", self.table_name(module, _arg(call, 0, "table_name")), (), None)
        elif op == "execute":
            self.execute_sql(call, base)

    def create_table(self, module: ModuleSummary, call: CallFact, base: dict) -> None:
        table = self.table_name(module, _arg(call, 0, "table_name"))
        if len(call.args) >= MAX_CALL_ARGS:
            self.notes.append(f"{module.path}:{call.line}: create_table({table!r}) has {MAX_CALL_ARGS} or "
                              "more arguments; the facts keep the first ones, later columns and "
                              "constraints are unknown")
        columns: list[Column] = []
        constraints: list[Value] = []
        for item in call.args[1:]:
            if _callee_is(item, {"Column"}):
                columns.append(self.builder.column(None, module, "", item, None,
                                                   Location(module.path, item.line), style="core"))
            elif item.kind == "call":
                constraints.append(item)
        inline = {"inline": True}
        derived: list[MigrationOp] = []
        pk_holder: list[str] = []
        pk_seen: list[tuple] = []

        def on_index(index: Index, is_constraint: bool) -> None:
            kind = "create_unique_constraint" if is_constraint else "create_index"
            derived.append(MigrationOp(kind, table, index.columns, index.name, None, index.unique,
                                       index.location, phase=base["phase"], revision=base["revision"],
                                       **inline))

        def on_fk(fk: ForeignKey) -> None:
            derived.append(MigrationOp("create_foreign_key", table, fk.columns, fk.name, fk.ondelete, False,
                                       fk.location, references=fk.references, phase=base["phase"],
                                       revision=base["revision"], **inline))

        def on_pk(cols: tuple[str, ...], name: str | None, location: Location) -> None:
            pk_seen.append((cols, name, location))

        self.builder.constraints(constraints, module.path, table, [], [], pk_holder, "migration",
                                 module.path, on_fk=on_fk, on_index=on_index, on_pk=on_pk)
        pk_cols = pk_seen[-1][0] if pk_seen else tuple(c.name for c in columns if c.primary_key)
        if pk_cols:
            # a primary key column is NOT NULL unless nullable= says otherwise
            columns = [replace(c, primary_key=True,
                               nullable=c.nullable if _explicit_nullable(call, c.name) else False)
                       if c.name in pk_cols else c for c in columns]
        inline_columns = columns  # their own flags and ForeignKey(), for the inline ops below
        columns = _with_table_fks(columns, [d for d in derived if d.kind == "create_foreign_key"])
        self.ops.append(MigrationOp("create_table", table, tuple(c.name for c in columns), None, None, False,
                                    column_defs=tuple(columns), **base))
        if pk_cols:
            location = pk_seen[-1][2] if pk_seen else base["location"]
            self.ops.append(MigrationOp("create_primary_key", table, tuple(pk_cols),
                                        pk_seen[-1][1] if pk_seen else None, None, False, location,
                                        phase=base["phase"], revision=base["revision"], **inline))
        for column in inline_columns:
            self.inline_column_ops(table, column, base, primary=False)
        self.ops.extend(derived)

    def inline_column_ops(self, table: str | None, column: Column, base: dict, primary: bool = True) -> None:
        common = {"phase": base["phase"], "revision": base["revision"], "inline": True}
        if column.index or column.unique:
            kind = "create_index" if column.index else "create_unique_constraint"
            self.ops.append(MigrationOp(kind, table, (column.name,), None, None, column.unique,
                                        column.location, **common))
        if column.foreign_key:
            self.ops.append(MigrationOp("create_foreign_key", table, (column.name,), None, column.ondelete,
                                        False, column.location, references=(column.foreign_key,), **common))
        if primary and column.primary_key:
            self.ops.append(MigrationOp("create_primary_key", table, (column.name,), None, None, False,
                                        column.location, **common))

    def execute_sql(self, call: CallFact, base: dict) -> None:
        sql = _unwrap_name(_arg(call, 0, "sqltext"))
        if not sql:
            return
        for match in CREATE_INDEX_SQL.finditer(sql):
            cols = tuple(c.strip().strip('"').split()[0] if c.strip() else c
                         for c in _split_top(match.group("cols"), ","))
            self.ops.append(MigrationOp("create_index", match.group("table").strip('"'), cols,
                                        match.group("name").strip('"'), None, bool(match.group("unique")),
                                        **base))
        for match in DROP_INDEX_SQL.finditer(sql):
            self.ops.append(MigrationOp("drop_index", None, (), match.group("name").strip('"'), None, False,
                                        **base))

    # -- the schema after all upgrades -------------------------------------------------------------
    def final_state(self) -> tuple[list[Index], list[ForeignKey], dict[str, tuple[str, ...]]]:
        indexes: list[Index] = []
        fks: list[ForeignKey] = []
        pks: dict[str, tuple[str, ...]] = {}
        pk_names: dict[str, str | None] = {}
        for op in self.ops:
            if op.phase == DOWNGRADE:
                continue
            table = op.table
            if op.kind in ("create_index", "create_unique_constraint"):
                indexes.append(Index(op.name, op.columns, op.unique, op.location, "migration", table))
            elif op.kind == "create_foreign_key":
                fks.append(ForeignKey(table, op.columns, op.references, op.ondelete, op.location,
                                      "migration", op.name, op.location.path))
            elif op.kind == "create_primary_key":
                pks[table or ""] = op.columns
                pk_names[table or ""] = op.name
            elif op.kind == "drop_index" and op.name:
                indexes = [i for i in indexes
                           if not (i.name == op.name and (not table or i.table == table))]
            elif op.kind == "drop_constraint" and op.name:
                kind = (op.constraint_type or "").lower()
                if kind in ("", "unique"):
                    indexes = [i for i in indexes if not (
                        i.unique and (not table or i.table == table)
                        and op.name in (i.name, _default_name(i.table, i.columns, "key")))]
                if kind in ("", "foreignkey"):
                    fks = [f for f in fks if not (
                        (not table or f.table == table)
                        and op.name in (f.name, _default_name(f.table, f.columns, "fkey")))]
                if kind in ("", "primary") and table in pks and op.name in (pk_names.get(table),
                                                                            f"{table}_pkey"):
                    pks.pop(table)
            elif op.kind == "drop_table":
                indexes = [i for i in indexes if i.table != table]
                fks = [f for f in fks if f.table != table]
                pks.pop(table or "", None)
            elif op.kind == "drop_column" and op.columns:
                gone = op.columns[0]
                indexes = [i for i in indexes if not (i.table == table and gone in i.columns)]
                fks = [f for f in fks if not (f.table == table and gone in f.columns)]
                if gone in pks.get(table or "", ()):
                    pks.pop(table or "", None)
        return indexes, fks, pks
