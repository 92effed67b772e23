from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.database.tables import (
    OWNER_COLUMN,
    is_financial_table,
    is_lookup_table,
    is_user_table,
)


@dataclass
class _Cascade:
    child: str
    parent: str
    declarations: list = field(default_factory=list)  # ForeignKeys with ondelete=CASCADE
    relationships: list = field(default_factory=list)  # (Model, Relationship) with delete cascade


# A user wrote the row (an article, a post): deleting it is the author's or a moderator's
# act, and the rows pointing at it (bookmarks, likes) go with it.
AUTHOR_COLUMN = re.compile(r"^(author|writer)(_?id)?$", re.IGNORECASE)


@register
class CascadeDeleteUserData(ProjectRule):
    """
    ## What it does
    Finds deletes that cascade onto data users own or that must be kept:
    `ondelete="CASCADE"` foreign keys (in models or Alembic migrations) and
    `relationship(cascade="all, delete-orphan")` from a catalogue row (a product, an anime,
    a book: a table that no user owns) onto rows that belong to users (favorites,
    progress, reviews, orders: tables with a `user_id`-like foreign key to the users
    table), and from a user onto financial records (orders, payments, invoices,
    transactions).

    ## Why is this bad?
    Deleting one catalogue row (an admin cleaning up a duplicate, a sync job removing an
    item that left the source) silently deletes every user's favorites, progress or
    reviews that point at it, with no trace and no way back short of a backup. Deleting a
    user's account should delete their personal data, but payments and orders are records
    that accounting, refunds and disputes need after the account is gone. Rows that are
    parts of their parent (order items of an order, a user's own tokens) are not reported.

    ## Example
    ```python
    from sqlalchemy import ForeignKey
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)


    class Product(Base):
        __tablename__ = "products"
        id: Mapped[int] = mapped_column(primary_key=True)


    class Favorite(Base):
        __tablename__ = "favorites"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
        product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    ```

    ## Use instead
    ```python
    from sqlalchemy import ForeignKey
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class User(Base):
        __tablename__ = "users"
        id: Mapped[int] = mapped_column(primary_key=True)


    class Product(Base):
        __tablename__ = "products"
        id: Mapped[int] = mapped_column(primary_key=True)
        is_archived: Mapped[bool] = mapped_column(default=False)  # soft delete


    class Favorite(Base):
        __tablename__ = "favorites"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
        product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"), index=True)
    ```

    ## Known limitations
    Which tables are users, owners' columns and financial records is decided by name
    (`users`/`accounts`/`customers`; `user_id`/`owner_id`...; `orders`/`payments`/
    `invoices`...). A table with an `author_id` to the users table counts as user content
    (an article), not catalogue; audit columns (`created_by`) do not. Whether the
    application ever deletes catalogue rows is not checked: a cascade that never fires is
    harmless, and a soft-delete column elsewhere is not recognised as the policy.
    """

    meta = RuleMeta(
        id="PA306", slug="cascade-delete-user-data", family="database",
        dimension=Dimension.RELIABILITY, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary='ondelete="CASCADE" / cascade="all, delete" from a catalogue row onto user data, '
                "or from a user onto financial records",
        effort_minutes=45, technology=("sqlalchemy", "alembic"),
        fix='Use ondelete="RESTRICT" (or SET NULL) and soft-delete the parent (is_archived / '
            "deleted_at), or archive the child rows before deleting.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        orm = project.orm
        owners = self.owned_tables(orm)
        authored = self.authored_tables(orm)
        cascades: dict[tuple[str, str], _Cascade] = {}
        # Tables only touched conditionally (`if inspector.has_table(...)`) may not exist.
        known = orm.table_names()
        for fk in orm.foreign_keys():
            if (fk.ondelete or "").upper() != "CASCADE" or fk.table not in known or not fk.target_table:
                continue
            key = (fk.table, fk.target_table)
            cascades.setdefault(key, _Cascade(*key)).declarations.append(fk)
        for model in orm.models:
            for rel in model.relationships:
                cascade = (rel.cascade or "").replace(" ", "")
                if not ({"all", "delete"} & set(cascade.split(","))) or rel.target_model is None:
                    continue
                target = orm.model(rel.target_model)
                if target is None or not target.table or not model.table or rel.secondary:
                    continue
                key = (target.table, model.table)
                cascades.setdefault(key, _Cascade(*key)).relationships.append((model, rel))
        for (child, parent), cascade in sorted(cascades.items()):
            kind = self.risk(child, parent, owners, authored)
            if kind:
                yield self.report(cascade, kind, owners)

    @staticmethod
    def owned_tables(orm) -> dict[str, object]:
        """Table -> the foreign key that says a user owns its rows."""
        owned: dict[str, object] = {}
        for fk in orm.foreign_keys():
            if fk.table and len(fk.columns) == 1 and OWNER_COLUMN.match(fk.column) \
                    and is_user_table(fk.target_table):
                owned.setdefault(fk.table, fk)
        return owned

    @staticmethod
    def authored_tables(orm) -> frozenset[str]:
        """Tables whose rows a user wrote (`author_id` -> users): user content, not a
        catalogue. Audit columns (`created_by`, `deleted_by`) do not count: an admin who
        added a catalogue row does not own it."""
        return frozenset(fk.table for fk in orm.foreign_keys()
                         if fk.table and len(fk.columns) == 1 and AUTHOR_COLUMN.match(fk.column)
                         and is_user_table(fk.target_table))

    @staticmethod
    def risk(child: str, parent: str, owners: dict, authored: frozenset[str]) -> str:
        if is_user_table(parent):
            return "financial" if is_financial_table(child) else ""
        # Deleting a role or a tag removing its assignments is what an association row is for;
        # deleting an article its author wrote removing the bookmarks of it, too.
        if child in owners and parent not in owners and parent not in authored \
                and not is_user_table(child) \
                and not is_lookup_table(parent):
            return "catalog"
        return ""

    def report(self, cascade: _Cascade, kind: str, owners: dict) -> Finding:
        declarations = sorted(cascade.declarations, key=lambda fk: (fk.source != "model", fk.location.path,
                                                                    fk.location.line))
        evidence = []
        for fk in declarations:
            evidence.append(Evidence(fk.location, f"`{fk.table}.{fk.column}` -> `{fk.target}` "
                                                  f"ondelete=CASCADE ({fk.source})"))
        for model, rel in cascade.relationships:
            evidence.append(Evidence(rel.location, f"`{model.name}.{rel.attribute}` "
                                                   f"cascade=\"{rel.cascade}\""))
        location = declarations[0].location if declarations else cascade.relationships[0][1].location
        child, parent = cascade.child, cascade.parent
        # An ORM-only cascade fires when the row is deleted through the session.
        how = "" if declarations else " with session.delete()"
        if kind == "catalog":
            owner = owners[child]
            evidence.append(Evidence(owner.location, f"`{child}` rows belong to users "
                                                     f"(`{child}.{owner.column}` -> `{owner.target}`)"))
            message = (f"Deleting one `{parent}` row{how} deletes every user's `{child}` rows that point "
                       f"at it (cascade from a catalogue table onto user data), silently and for good")
        else:
            message = (f"Deleting a `{parent}` row{how} deletes their `{child}`: financial records that "
                       f"accounting, refunds and disputes need after the account is gone")
        return self.finding(message, location, evidence=evidence,
                            anchor=f"{parent}->{child}:cascade",
                            details={"child": child, "parent": parent, "kind": kind})
