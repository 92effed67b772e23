"""ORM models and Alembic migration operations, from module facts.

Models are classes whose bases lead to a declarative root: a subclass of
`sqlalchemy.orm.DeclarativeBase`, an `@as_declarative()` class, the result of
`declarative_base()` / `registry().generate_base()` assigned at module level, `db.Model` of a
Flask-SQLAlchemy `db = SQLAlchemy()`, or `sqlmodel.SQLModel` with `table=True`. Project base
classes are followed across modules by name (and through re-exports); mixins and abstract
bases lend their columns to the models built on them. Core `Table(...)` definitions in
application code are read too, since association tables carry foreign keys and indexes.

Migration operations come from `alembic.op.*` calls (and `batch_op.*` inside
`with op.batch_alter_table(...)`, and CREATE/DROP INDEX in `op.execute("...")`) in files of
kind "migration" or any file with `revision`, `down_revision` and `alembic.op` calls, ordered
by the revision chain. A create_table also yields its inline primary key, unique, index and
foreign key operations (inline=True). Operations of `downgrade()` are kept but do not count
towards the final schema state (drops applied in revision order) that `indexed_columns()` and
`foreign_keys()` report.

Whatever is not a literal (or a module constant) is "unknown" (None) rather than guessed. A
class or a migration call that cannot be read is skipped with a note; nothing here raises on
odd code, except under PRODAUDIT_STRICT, where our own bugs must surface.

`build_orm(project)` is a pure function of the module summaries (no syntax trees, no file
reads), cheap enough to build once per audit and keep.
"""

from __future__ import annotations

from prodaudit.model.orm_builder import _Builder
from prodaudit.model.orm_helpers import _Annotations
from prodaudit.model.orm_migrations import OP_KINDS, _Migrations
from prodaudit.model.orm_records import (
    ANNOTATION_TYPES,
    COLLECTIONS,
    COLUMN_CALLS,
    CREATE_INDEX_SQL,
    DECLARATIVE_BASE_CLASSES,
    DECLARATIVE_FACTORIES,
    DOWNGRADE,
    DROP_INDEX_SQL,
    FLASK_SQLALCHEMY,
    FOREIGN_HEADS,
    LAZY_CONSTANTS,
    MAPPED_WRAPPERS,
    MAX_CALL_ARGS,
    RELATIONSHIP_CALLS,
    SCHEMA_ITEMS,
    SQLMODEL_BASES,
    SQLMODEL_TYPES,
    TIMEZONE_TYPES,
    UPGRADE,
    WRAPPER_CALLS,
    Column,
    ForeignKey,
    Index,
    MigrationOp,
    Model,
    OrmModel,
    Relationship,
    TableDef,
)

__all__ = [  # _Annotations, _Builder: tests read them here
    "ANNOTATION_TYPES",
    "COLLECTIONS",
    "COLUMN_CALLS",
    "CREATE_INDEX_SQL",
    "DECLARATIVE_BASE_CLASSES",
    "DECLARATIVE_FACTORIES",
    "DOWNGRADE",
    "DROP_INDEX_SQL",
    "FLASK_SQLALCHEMY",
    "FOREIGN_HEADS",
    "LAZY_CONSTANTS",
    "MAPPED_WRAPPERS",
    "MAX_CALL_ARGS",
    "OP_KINDS",
    "RELATIONSHIP_CALLS",
    "SCHEMA_ITEMS",
    "SQLMODEL_BASES",
    "SQLMODEL_TYPES",
    "TIMEZONE_TYPES",
    "UPGRADE",
    "WRAPPER_CALLS",
    "Column",
    "ForeignKey",
    "Index",
    "MigrationOp",
    "Model",
    "OrmModel",
    "Relationship",
    "TableDef",
    "_Annotations",
    "_Builder",
    "build_orm",
]


# -- entry point ----------------------------------------------------------------------------------
def build_orm(project, kinds: tuple[str, ...] = ("source",)) -> OrmModel:
    """The ORM model of a project: a pure function of its module summaries."""
    builder = _Builder(project, kinds)
    builder.build_models()
    builder.module_level_indexes()
    builder.resolve_targets()
    builder.add_backrefs()
    builder.core_tables()
    migrations = _Migrations(builder)
    migrations.build()
    indexes, fks, pks = migrations.final_state()
    for module in project.summaries("migration"):
        if module.problem is not None:
            builder.notes.append(f"{module.path}: not parsed ({module.problem.kind}); its operations are unknown")
    return OrmModel(
        models=builder.models(), migrations=tuple(migrations.ops), notes=tuple(builder.notes),
        tables=tuple(builder.tables), migration_indexes=tuple(indexes),
        migration_foreign_keys=tuple(fks), migration_primary_keys=tuple(sorted(pks.items())))
