"""The ORM model (model/orm.py) over small fixture projects in tests/fixtures/model/orm/."""

from __future__ import annotations

import pickle
from functools import cache
from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.model import orm as orm_module
from prodaudit.model.orm import Model, OrmModel, build_orm
from prodaudit.model.resolve import ImportFact, ImportTable

FIXTURES = Path(__file__).parent / "fixtures" / "model" / "orm"


@cache
def project(name: str):
    result = run_audit(FIXTURES / name, AuditOptions(use_cache=False, select=("PA001",)))
    return result.project


@cache
def orm(name: str) -> OrmModel:
    return build_orm(project(name))


def columns(model: Model) -> dict[str, tuple]:
    """attribute -> (name, type, nullable, primary_key, index, unique, foreign_key, ondelete, tz)"""
    return {c.attribute: (c.name, c.type_name, c.nullable, c.primary_key, c.index, c.unique,
                          c.foreign_key, c.ondelete, c.timezone) for c in model.columns}


def relationships(model: Model) -> dict[str, tuple]:
    """attribute -> (target, target_model, lazy, cascade, back_populates, uselist)"""
    return {r.attribute: (r.target, r.target_model, r.lazy, r.cascade, r.back_populates, r.uselist)
            for r in model.relationships}


def indexes(model: Model) -> set[tuple]:
    return {(i.name, i.columns, i.unique, i.table) for i in model.indexes}


def fks(orm_model: OrmModel) -> set[tuple]:
    return {(f.source, f.table, f.columns, f.references, f.ondelete, f.location.path, f.location.line)
            for f in orm_model.foreign_keys()}


# -- SQLAlchemy 2.0: DeclarativeBase, Mapped[], mapped_column() -------------------------------
def test_sa20_models_tables_and_styles() -> None:
    model = orm("sa20")
    assert [(m.qualname, m.table, m.style, m.path, m.location.line) for m in model.models] == [
        ("app.models.anime:Anime", "anime", "declarative-2.0", "app/models/anime.py", 10),
        ("app.models.favorite:Favorite", "favorites", "declarative-2.0", "app/models/favorite.py", 10),
        ("app.models.user:User", "users", "declarative-2.0", "app/models/user.py", 15),
    ]
    assert model.notes == ()
    assert model.migrations == ()
    # the declarative base and the mixin are not models
    assert model.models_named("Base") == () and model.models_named("TimestampMixin") == ()


def test_sa20_columns() -> None:
    model = orm("sa20")
    assert columns(model.model("Anime")) == {
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        "title": ("title", "String", False, False, True, False, None, None, None),
        "synopsis": ("synopsis", "Text", True, False, False, False, None, None, None),
        "episodes": ("episodes", "Integer", True, False, False, False, None, None, None),
        "aired_at": ("aired_at", "DateTime", True, False, False, False, None, None, False),
    }
    assert columns(model.model("Favorite")) == {
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        "user_id": ("user_id", "Integer", False, False, False, False, "users.id", "CASCADE", None),
        "anime_id": ("anime_id", "Integer", False, False, True, False, "anime.id", None, None),
        # annotation only: Mapped[str | None]
        "note": ("note", "String", True, False, False, False, None, None, None),
        "created_at": ("created_at", "DateTime", False, False, False, False, None, None, False),
    }
    user = model.model("User")
    assert columns(user) == {
        # from TimestampMixin (another module), DateTime(timezone=True)
        "created_at": ("created_at", "DateTime", False, False, False, False, None, None, True),
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        "email": ("email", "String", False, False, True, True, None, None, None),
        "display_name": ("display_name", "String", True, False, False, False, None, None, None),
        "is_active": ("is_active", "Boolean", False, False, False, False, None, None, None),
    }
    assert user.column("created_at").location.path == "app/db/base.py"
    assert user.primary_key == ("id",)


def test_sa20_relationships() -> None:
    model = orm("sa20")
    assert relationships(model.model("User")) == {
        "favorites": ("Favorite", "app.models.favorite:Favorite", "selectin", "all, delete-orphan",
                      "user", True),
    }
    assert relationships(model.model("Anime")) == {
        # relationship("Favorite") with no lazy=: the default
        "favorites": ("Favorite", "app.models.favorite:Favorite", "select", None, "anime", True),
    }
    assert relationships(model.model("Favorite")) == {
        # target from Mapped["User"] (not imported: found by class name in the registry)
        "user": ("User", "app.models.user:User", "select", None, "favorites", False),
        # target from Mapped[Anime], resolved through the import
        "anime": ("Anime", "app.models.anime:Anime", "joined", None, "favorites", False),
    }
    rel = model.relationship_of(model.model("User"), "favorites")
    assert (rel.location.path, rel.location.line) == ("app/models/user.py", 23)


def test_sa20_indexes_and_foreign_keys() -> None:
    model = orm("sa20")
    assert indexes(model.model("Favorite")) == {
        (None, ("anime_id",), False, "favorites"),
        ("uq_favorites_user_anime", ("user_id", "anime_id"), True, "favorites"),
    }
    assert indexes(model.model("User")) == {(None, ("email",), True, "users")}
    assert fks(model) == {
        ("model", "favorites", ("user_id",), ("users.id",), "CASCADE", "app/models/favorite.py", 15),
        ("model", "favorites", ("anime_id",), ("anime.id",), None, "app/models/favorite.py", 16),
    }
    assert model.indexed_columns("favorites") == {"id", "anime_id", "user_id"}
    assert model.indexed_columns("users") == {"id", "email"}
    assert model.indexed_columns("anime") == {"id", "title"}
    assert model.is_indexed("favorites", "user_id")  # leads the unique constraint
    assert not model.is_indexed("favorites", "created_at")
    assert model.table_names() == {"anime", "favorites", "users"}


# -- SQLAlchemy 1.4: declarative_base(), Column(), __table_args__ --------------------------------
def test_sa14_models_and_columns() -> None:
    model = orm("sa14")
    assert [(m.name, m.table, m.style) for m in model.models] == [
        ("Author", "authors", "declarative-1.x"), ("Book", "books", "declarative-1.x"),
        ("Review", "reviews", "declarative-1.x"), ("Tag", "tags", "declarative-1.x"),
    ]
    assert columns(model.model("Author")) == {
        "id": ("id", "Integer", False, True, True, False, None, None, None),
        "name": ("name", "String", False, False, False, True, None, None, None),
        "bio": ("bio", "Text", True, False, False, False, None, None, None),
        "created_at": ("created_at", "DateTime", True, False, False, False, None, None, False),
    }
    assert columns(model.model("Book")) == {
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        "isbn": ("isbn_code", "String", True, False, False, False, None, None, None),
        "author_id": ("author_id", "Integer", False, False, False, False, "authors.id", "CASCADE", None),
        "published_at": ("published_at", "DateTime", True, False, False, False, None, None, True),
        "archived": ("archived", "Boolean", False, False, False, False, None, None, None),
    }
    assert columns(model.model("Review")) == {
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        # ForeignKey(Book.id): a class attribute, resolved to the table once models are known
        "book_id": ("book_id", "Integer", True, False, False, False, "books.id", None, None),
        # a single-column ForeignKeyConstraint in __table_args__ marks the column too
        "reviewer_id": ("reviewer_id", "Integer", True, False, False, False, "reviewers.id", "SET NULL",
                        None),
        "rating": ("rating", "SmallInteger", True, False, False, False, None, None, None),
    }


def test_sa14_relationships_backref_and_secondary() -> None:
    model = orm("sa14")
    book = model.model("Book")
    assert relationships(book) == {
        "author": ("Author", "library.models:Author", "select", None, None, None),
        "reviews": ("Review", "library.models:Review", "joined", "all, delete-orphan", None, True),
        "tags": ("Tag", "library.models:Tag", "select", None, None, None),
    }
    assert book.relationship("author").backref == "books"
    assert book.relationship("tags").secondary == "book_tags"
    # backref=backref("books", lazy="dynamic") creates Author.books
    books = model.relationship_of("Author", "books")
    assert (books.target_model, books.lazy, books.backref_of) == ("library.models:Book", "dynamic",
                                                                   "Book.author")
    assert (books.location.path, books.location.line) == ("library/models.py", 39)


def test_sa14_table_args_module_indexes_and_core_table() -> None:
    model = orm("sa14")
    assert indexes(model.model("Book")) == {
        ("ix_books_author_published", ("author_id", "published_at"), False, "books"),
        ("uq_books_isbn", ("isbn_code",), True, "books"),
    }
    assert indexes(model.model("Author")) == {(None, ("id",), False, "authors"),
                                              (None, ("name",), True, "authors")}
    # Index("ix_reviews_rating", Review.rating) after the class
    assert indexes(model.model("Review")) == {("ix_reviews_rating", ("rating",), False, "reviews")}
    [table] = model.tables
    assert (table.name, table.qualname, table.table, table.primary_key) == (
        "book_tags", "library.models:book_tags", "book_tags", ("book_id", "tag_id"))
    assert fks(model) == {
        ("model", "books", ("author_id",), ("authors.id",), "CASCADE", "library/models.py", 35),
        ("model", "reviews", ("book_id",), ("books.id",), None, "library/models.py", 52),
        ("model", "reviews", ("reviewer_id",), ("reviewers.id",), "SET NULL", "library/models.py", 47),
        ("model", "book_tags", ("book_id",), ("books.id",), "CASCADE", "library/models.py", 12),
        ("model", "book_tags", ("tag_id",), ("tags.id",), None, "library/models.py", 13),
    }
    assert model.indexed_columns("books") == {"id", "author_id", "isbn_code"}
    assert model.indexed_columns("books", leading_only=False) == {"id", "author_id", "published_at",
                                                                  "isbn_code"}
    # composite primary key of the association table: only its first column leads
    assert model.indexed_columns("book_tags") == {"book_id"}
    assert not model.is_indexed("reviews", "book_id")
    assert model.notes == ()


# -- SQLModel ------------------------------------------------------------------------------------
def test_sqlmodel_models_columns_relationships() -> None:
    model = orm("sqlmodel_app")
    # TeamBase / TeamCreate / HeroPublic have no table=True
    assert [(m.name, m.table, m.style) for m in model.models] == [
        ("Team", "team", "sqlmodel"), ("Hero", "heroes", "sqlmodel"), ("Mission", "mission", "sqlmodel")]
    assert columns(model.model("Team")) == {
        "name": ("name", "AutoString", False, False, True, False, None, None, None),  # from TeamBase
        "headquarters": ("headquarters", "AutoString", False, False, False, False, None, None, None),
        "id": ("id", "Integer", False, True, False, False, None, None, None),
    }
    assert columns(model.model("Hero")) == {
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        "name": ("name", "AutoString", False, False, True, False, None, None, None),
        "secret_name": ("secret_name", "AutoString", False, False, False, False, None, None, None),
        "age": ("age", "Integer", True, False, True, False, None, None, None),
        "team_id": ("team_id", "Integer", True, False, False, False, "team.id", "CASCADE", None),
        # Field(sa_column=Column(DateTime(timezone=True), nullable=False))
        "created_at": ("created_at", "DateTime", False, False, False, False, None, None, True),
    }
    assert relationships(model.model("Team")) == {
        # cascade_delete=True is SQLModel's cascade="all, delete-orphan"
        "heroes": ("Hero", "heroes.models:Hero", "select", "all, delete-orphan", "team", True),
    }
    assert relationships(model.model("Hero")) == {
        "team": ("Team", "heroes.models:Team", "selectin", None, "heroes", False),
    }
    assert relationships(model.model("Mission")) == {
        # sa_relationship_kwargs=dict(...)
        "hero": ("Hero", "heroes.models:Hero", "joined", None, None, False),
        # sa_relationship=relationship(...) replaces everything else
        "leader": ("Hero", "heroes.models:Hero", "raise", None, None, False),
    }
    assert fks(model) == {
        ("model", "heroes", ("team_id",), ("team.id",), "CASCADE", "heroes/models.py", 31),
        ("model", "mission", ("hero_id",), ("heroes.id",), None, "heroes/models.py", 46),
    }
    assert model.indexed_columns("heroes") == {"id", "name", "age"}
    assert model.indexed_columns("mission") == {"id", "hero_id"}
    assert not model.is_indexed("heroes", "team_id")


# -- Alembic migrations ----------------------------------------------------------------------------
def op_rows(model: OrmModel, phase: str | None = "upgrade") -> list[tuple]:
    return [(op.kind, op.table, op.columns, op.name, op.ondelete, op.unique, op.references, op.inline,
             op.location.path.rsplit("/", 1)[-1], op.location.line)
            for op in model.migrations if phase is None or op.phase == phase]


def test_migration_upgrade_operations_in_revision_order() -> None:
    model = orm("migrated")
    initial, rating, title = ("e1f0a2b3c4d5_initial.py", "1a2b3c4d5e6f_add_rating.py",
                              "5f6e7d8c9b0a_title_index.py")
    assert op_rows(model) == [
        ("create_table", "users", ("id", "email", "created_at"), None, None, False, (), False, initial, 16),
        ("create_primary_key", "users", ("id",), None, None, False, (), True, initial, 21),
        ("create_unique_constraint", "users", ("email",), None, None, True, (), True, initial, 22),
        ("create_table", "anime", ("id", "title"), None, None, False, (), False, initial, 24),
        ("create_primary_key", "anime", ("id",), None, None, False, (), True, initial, 24),
        ("create_index", "anime", ("lower(title)",), "ix_anime_title_lower", None, False, (), False,
         initial, 29),
        ("create_table", "favorites", ("id", "user_id", "anime_id"), None, None, False, (), False,
         initial, 30),
        ("create_primary_key", "favorites", ("id",), None, None, False, (), True, initial, 36),
        ("create_foreign_key", "favorites", ("user_id",), None, None, False, ("users.id",), True,
         initial, 33),
        ("create_foreign_key", "favorites", ("anime_id",), None, "CASCADE", False, ("anime.id",), True,
         initial, 35),
        ("create_index", "favorites", ("user_id",), "ix_favorites_user_id", None, False, (), False,
         initial, 38),
        # the next revision, although its file sorts first
        ("add_column", "favorites", ("rating",), None, None, False, (), False, rating, 16),
        ("drop_constraint", "favorites", (), "favorites_user_id_fkey", None, False, (), False, rating, 17),
        ("create_foreign_key", "favorites", ("user_id",), "fk_favorites_user_id_users", "CASCADE", False,
         ("users.id",), False, rating, 18),
        ("drop_index", "anime", (), "ix_anime_title_lower", None, False, (), False, rating, 21),
        # batch_op.create_index inside `with op.batch_alter_table("favorites")`
        ("create_index", "favorites", ("rating",), "ix_favorites_rating", None, False, (), False, rating, 23),
        # op.execute("CREATE INDEX CONCURRENTLY ...")
        ("create_index", "anime", ("title",), "ix_anime_title", None, False, (), False, title, 16),
    ]
    revisions = [op.revision for op in model.migrations]
    assert sorted(set(revisions), key=revisions.index) == ["e1f0a2b3c4d5", "1a2b3c4d5e6f", "5f6e7d8c9b0a"]


def test_migration_columns_and_downgrade() -> None:
    model = orm("migrated")
    favorites = next(op for op in model.migrations if op.kind == "create_table" and op.table == "favorites")
    assert [(c.name, c.type_name, c.nullable, c.primary_key, c.foreign_key, c.ondelete)
            for c in favorites.column_defs] == [
        ("id", "Integer", False, True, None, None),
        ("user_id", "Integer", False, False, "users.id", None),  # inline sa.ForeignKey
        ("anime_id", "Integer", False, False, "anime.id", "CASCADE"),  # ForeignKeyConstraint
    ]
    users = next(op for op in model.migrations if op.kind == "create_table" and op.table == "users")
    assert [(c.name, c.nullable, c.timezone) for c in users.column_defs] == [
        ("id", False, None), ("email", False, None), ("created_at", True, True)]
    downgrade = {(op.kind, op.table, op.name) for op in model.migrations if op.phase == "downgrade"}
    assert ("drop_table", "favorites", None) in downgrade
    assert ("drop_index", None, "ix_anime_title") in downgrade
    assert ("drop_index", "favorites", "ix_favorites_rating") in downgrade  # batch_op.drop_index


def test_migration_state_merged_with_models() -> None:
    model = orm("migrated")
    # models declare no indexes here; the migrations do (and drop one again)
    assert model.indexed_columns("favorites") == {"id", "user_id", "rating"}
    assert model.indexed_columns("users") == {"id", "email"}
    # lower(title) was dropped by the second revision, title indexed by the third
    assert model.indexed_columns("anime") == {"id", "title"}
    assert {(i.name, i.columns) for i in model.indexes("anime")} == {("ix_anime_title", ("title",))}
    assert fks(model) == {
        ("model", "favorites", ("user_id",), ("users.id",), None, "app/models.py", 27),
        ("model", "favorites", ("anime_id",), ("anime.id",), "CASCADE", "app/models.py", 28),
        ("migration", "favorites", ("anime_id",), ("anime.id",), "CASCADE",
         "alembic/versions/e1f0a2b3c4d5_initial.py", 35),
        # the unnamed inline FK (favorites_user_id_fkey) was dropped and re-created with CASCADE;
        # the downgrade's create_foreign_key does not count
        ("migration", "favorites", ("user_id",), ("users.id",), "CASCADE",
         "alembic/versions/1a2b3c4d5e6f_add_rating.py", 18),
    }
    fk = next(f for f in model.foreign_keys() if f.source == "migration" and f.column == "user_id")
    assert (fk.target, fk.target_table, fk.name) == ("users.id", "users", "fk_favorites_user_id_users")
    assert model.table_names() == {"users", "anime", "favorites"}
    assert model.notes == ()


# -- Flask-SQLAlchemy, inheritance, declared_attr, type_annotation_map --------------------------
def test_flask_sqlalchemy_models() -> None:
    model = orm("flask_app")
    assert [(m.name, m.table, m.style) for m in model.models] == [
        ("Author", "authors", "declarative-1.x"),
        ("BlogPost", "blog_post", "declarative-1.x"),  # Flask-SQLAlchemy's derived name
    ]
    assert columns(model.model("BlogPost"))["author_id"] == (
        "author_id", "Integer", True, False, True, False, "authors.id", "CASCADE", None)
    assert relationships(model.model("Author")) == {
        "posts": ("BlogPost", "blog.models:BlogPost", "dynamic", None, None, None)}
    author = model.relationship_of("BlogPost", "author")  # from backref="author"
    assert (author.target_model, author.lazy, author.backref_of) == ("blog.models:Author", "select",
                                                                      "Author.posts")
    assert model.indexed_columns("blog_post") == {"id", "author_id"}


def test_declared_attr_tablename_abstract_base_and_inheritance() -> None:
    model = orm("variants")
    staff = {m.name: m for m in model.models if m.path == "shop/staff.py"}
    assert {n: (m.table, m.parent, m.primary_key) for n, m in staff.items()} == {
        "Company": ("company", None, ("id",)),  # @declared_attr __tablename__: cls.__name__.lower()
        "Employee": ("employee", None, ("id",)),
        "Manager": ("employee", "shop.staff:Employee", ()),  # single-table inheritance
        "Engineer": ("engineers", "shop.staff:Employee", ("id",)),  # joined-table inheritance
    }
    # TimestampedModel is __abstract__: not a model, its column goes to each subclass once
    assert model.models_named("TimestampedModel") == () and model.models_named("Base") == ()
    assert list(columns(staff["Company"])) == ["created_at", "id", "name"]
    assert list(columns(staff["Manager"])) == ["reports"]
    assert columns(staff["Employee"])["company_id"] == (
        "company_id", "ForeignKey", True, False, False, False, "company.id", None, None)
    # lazy=LAZY_MODE, a module constant
    assert relationships(staff["Company"])["employees"][2] == "selectin"
    assert staff["Company"].relationship("employees").passive_deletes is True
    # relationship(lambda: Company)
    assert relationships(staff["Engineer"])["company"][:3] == ("Company", "shop.staff:Company", "select")
    assert model.relationship_of(staff["Manager"], "company") is None
    assert model.models_for_table("employee") == (staff["Employee"], staff["Manager"])


def test_type_annotation_map_enum_and_write_only() -> None:
    model = orm("variants")
    event = model.model("Event")
    assert columns(event) == {
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        # TypedBase.type_annotation_map = {datetime: DateTime(timezone=True)}
        "at": ("at", "DateTime", False, False, False, False, None, None, True),
        "kind": ("kind", "Enum", False, False, False, False, None, None, None),
        "payload": ("payload", None, False, False, False, False, None, None, None),
    }
    assert relationships(event) == {
        "items": ("Item", "shop.events:Item", "write_only", "all, delete-orphan", None, True)}


def test_annotated_type_aliases() -> None:
    tag = orm("variants").model("shop.events:Tag")
    assert columns(tag) == {
        # intpk = Annotated[int, mapped_column(primary_key=True)]
        "id": ("id", "Integer", False, True, False, False, None, None, None),
        # str_opt = Annotated[Optional[str], mapped_column(String(40), index=True)], plus unique=True
        "label": ("label", "String", True, False, True, True, None, None, None),
        # MaybeText = Optional[str]
        "note": ("note", "String", True, False, False, False, None, None, None),
        # Reference = NewType("Reference", str): not followed, unknown
        "ref": ("ref", None, None, False, False, False, None, None, None),
    }
    assert tag.primary_key == ("id",)


def test_odd_code_degrades_to_unknown_with_notes() -> None:
    model = orm("variants")
    weird = model.model("Weird")
    assert weird.table is None
    assert columns(weird)["dynamic"] == ("dynamic", None, True, False, False, False, None, None, None)
    assert relationships(weird)["owner"] == ("NoSuchModel", None, "select", None, None, None)
    assert model.notes == (
        "shop/odd.py:8: table name of model Weird is not a literal; unknown",
        "shop/odd.py:21: ForeignKey(Weird.id) of Invoice.weird_id: the referenced table is unknown",
        "shop/odd.py:10: Weird.__table_args__ is not a literal; its constraints are unknown",
        "shop/odd.py:14: relationship Weird.owner -> NoSuchModel: target model not found",
    )
    # still a foreign key, its reference kept as written
    invoice = model.model("Invoice")
    assert (invoice.table, invoice.schema) == ("invoice", "billing")
    assert columns(invoice)["weird_id"][6] == "Weird.id"
    assert [(f.columns, f.references) for f in invoice.foreign_keys] == [(("weird_id",), ("Weird.id",))]
    # class Dynamic(declarative_base()) and the Loop/Circle cycle: not models, no crash
    assert model.models_named("Dynamic") == () and model.models_named("Loop") == ()


def test_a_class_that_breaks_the_builder_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_STRICT", "0")
    real = orm_module._Builder.draft

    def draft(self, info):
        if info.fact.name == "Anime":
            raise ValueError("boom")
        return real(self, info)

    monkeypatch.setattr(orm_module._Builder, "draft", draft)
    model = build_orm(project("sa20"))
    assert [m.name for m in model.models] == ["Favorite", "User"]
    assert "app/models/anime.py:10: class Anime not read (ValueError: boom)" in model.notes
    # the relationships pointing at it degrade to unknown targets
    assert relationships(model.model("Favorite"))["anime"][1] is None


# -- API -------------------------------------------------------------------------------------------
def test_lookups() -> None:
    model = orm("sa20")
    anime = model.model("app.models.anime:Anime")
    assert anime is model.model("Anime") is model.model("app.models.anime.Anime")
    assert model.model("models.anime.Anime") is anime  # any suffix of the module path
    assert model.model("Nope") is None and model.model("app.models:Anime") is None
    assert model.models_named("Anime") == (anime,)
    assert model.relationship_of("Anime", "favorites").target == "Favorite"
    assert model.relationship_of(anime, "nope") is None
    assert anime.column("title").name == "title" and anime.column("nope") is None
    combined = OrmModel(models=orm("sa20").models + orm("migrated").models, migrations=())
    assert model.model("User") is not None and combined.model("User") is None  # ambiguous
    assert len(combined.models_named("User")) == 2


def test_pure_deterministic_and_picklable() -> None:
    first = build_orm(project("migrated"))
    assert first == build_orm(project("migrated"))
    assert pickle.loads(pickle.dumps(first)) == first


@pytest.mark.parametrize("text, expected", [
    ("User", ("User", "app.models.User", False, None)),
    ("list[Favorite]", ("Favorite", "Favorite", False, "list")),
    ("Optional['User']", ("User", "app.models.User", True, None)),
    ("User | None", ("User", "app.models.User", True, None)),
    ("None | typing.List[Item]", ("Item", "Item", True, "list")),
    ("Mapped[Set['Tag']]", ("Tag", "Tag", False, "set")),
    ("dict[str, int]", ("dict", "dict", False, None)),
    ("int | str", (None, None, None, None)),
])
def test_string_annotations(text: str, expected: tuple) -> None:
    imports = ImportTable([ImportFact("User", "app.models.User", 1, False)], "app.routes")
    shape = orm_module._Annotations(imports).text_shape(text, top=True)
    assert (shape.base, shape.resolved, shape.optional, shape.collection) == expected


def test_long_and_branched_revision_chains(tmp_path: Path) -> None:
    versions = tmp_path / "alembic" / "versions"
    versions.mkdir(parents=True)
    count = 1200  # deeper than the interpreter's recursion limit

    def write(name: str, revision: str, down: str, table: str) -> None:
        (versions / f"{name}.py").write_text(
            "from alembic import op\nimport sqlalchemy as sa\n\n"
            f"revision = {revision!r}\ndown_revision = {down}\n\n\n"
            f"def upgrade():\n    op.create_table({table!r}, sa.Column('id', sa.Integer(), primary_key=True))\n")

    for i in range(count):
        # file names sort in reverse of the chain
        write(f"m{count - i:05d}", f"r{i}", repr(f"r{i - 1}") if i else "None", f"t{i}")
    write("a_branch", "b1", "'r5'", "branch")
    write("b_merge", "merge", "('b1', 'r7')", "merged")
    result = run_audit(tmp_path, AuditOptions(use_cache=False, select=("PA001",)))
    tables = [op.table for op in build_orm(result.project).migrations if op.kind == "create_table"]
    assert len(tables) == count + 2
    position = {table: i for i, table in enumerate(tables)}
    assert all(position[f"t{i}"] < position[f"t{i + 1}"] for i in range(count - 1))
    assert position["t5"] < position["branch"] < position["merged"]
    assert position["t7"] < position["merged"]


def test_alembic_revisions_outside_a_migrations_folder() -> None:
    # shop/db/revisions/versions/ is "source" to discovery; its revision/down_revision and
    # alembic.op calls make it a migration here
    model = orm("variants")
    assert project("variants").modules["shop/db/revisions/versions/0001_invoices.py"].kind == "source"
    assert [(op.kind, op.table, op.columns, op.schema, op.phase) for op in model.migrations] == [
        ("create_table", "invoice", ("id", "weird_id"), "billing", "upgrade"),
        ("create_primary_key", "invoice", ("id",), "billing", "upgrade"),
        ("create_index", "invoice", ("weird_id",), "billing", "upgrade"),
        ("drop_table", "invoice", (), "billing", "downgrade"),
    ]
    assert model.indexed_columns("invoice") == {"id", "weird_id"}
    assert model.models_named("Invoice")[0].path == "shop/odd.py"


def test_create_table_beyond_the_recorded_arguments_is_noted(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    columns_src = "".join(f"        sa.Column('c{i}', sa.Integer()),\n" for i in range(40))
    (versions / "0001_wide.py").write_text(
        "from alembic import op\nimport sqlalchemy as sa\n\nrevision = '0001'\ndown_revision = None\n\n\n"
        "def upgrade():\n    op.create_table(\n        'wide',\n" + columns_src
        + "        sa.PrimaryKeyConstraint('c0'),\n    )\n")
    result = run_audit(tmp_path, AuditOptions(use_cache=False, select=("PA001",)))
    model = build_orm(result.project)
    [create] = [op for op in model.migrations if op.kind == "create_table"]
    assert len(create.columns) == 31  # the summary keeps 32 arguments: the name and 31 columns
    note = ("migrations/versions/0001_wide.py:9: create_table('wide') has 32 or more arguments; "
            "the facts keep the first ones, later columns and constraints are unknown")
    assert model.notes == (note,)
