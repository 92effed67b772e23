"""The settings model: values resolved through constants, env reads, settings classes and
factories, with the file:line chain; engines with SQLAlchemy defaults; secret-like fields.

Each fixture under tests/fixtures/model/settings/<name>/ is a mini project; values, sources
and chains are asserted exactly.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.findings import Location
from prodaudit.model.settings import (
    EngineConfig,
    Resolved,
    SettingsModel,
    build_settings,
    is_placeholder,
    is_secret_name,
)

FIXTURES = Path(__file__).parent / "fixtures" / "model" / "settings"
SQLITE = ("sqlite URL: SQLAlchemy 2.x uses SingletonThreadPool/StaticPool for :memory: and "
          "QueuePool for files (NullPool before 2.0), so pool settings may not apply")


@cache
def project(name: str):
    return run_audit(FIXTURES / name, AuditOptions(use_cache=False, select=("PA001",))).project


@cache
def model(name: str) -> SettingsModel:
    return build_settings(project(name))


def engine(name: str, target: str) -> EngineConfig:
    found = [e for e in model(name).engines() if e.target == target]
    assert len(found) == 1, [e.target for e in model(name).engines()]
    return found[0]


def chain(resolved: Resolved) -> list[str]:
    return [str(loc) for loc in resolved.chain]


def field(name: str, cls: str, attr: str):
    found = [f for f in model(name).fields() if f.class_qualname == cls and f.name == attr]
    assert len(found) == 1
    return found[0]


# -- kitsu style: a plain class instance with os.getenv defaults -----------------------------
def test_kitsu_engine_pool_size_from_getenv_default():
    pool_size = engine("kitsu", "engine").pool_size
    assert pool_size == Resolved(
        5, True, "default 5 of os.getenv('DB_POOL_SIZE') at app/config.py:10",
        Location("app/config.py", 10), "DB_POOL_SIZE",
        (Location("app/database.py", 7), Location("app/config.py", 23), Location("app/config.py", 10)))


def test_kitsu_conversion_applies_to_string_default():
    max_overflow = engine("kitsu", "engine").max_overflow
    assert (max_overflow.value, max_overflow.known, max_overflow.env_var) == (10, True, "DB_MAX_OVERFLOW")
    assert max_overflow.source == ("default '10' of os.environ.get('DB_MAX_OVERFLOW') at "
                                   "app/config.py:11, int() gives 10")


def test_kitsu_default_through_module_constant():
    timeout = engine("kitsu", "engine").pool_timeout
    assert timeout.value == 30
    assert timeout.source == ("default 30 of os.getenv('DB_POOL_TIMEOUT') at app/config.py:12 "
                              "(DEFAULT_TIMEOUT = 30 at app/config.py:5)")
    assert chain(timeout) == ["app/database.py:9", "app/config.py:23", "app/config.py:12",
                              "app/config.py:5"]
    assert timeout.location == Location("app/config.py", 5)


def test_kitsu_computed_class_attribute():
    recycle = engine("kitsu", "engine").pool_recycle
    assert (recycle.value, recycle.env_var) == (1800, None)
    assert recycle.source == "Settings.db_pool_recycle = 1800 at app/config.py:13"


def test_kitsu_engine_shape():
    found = engine("kitsu", "engine")
    assert found.location == Location("app/database.py", 5)
    assert (found.is_async, found.scope, found.at_module_level) == (True, "", True)
    assert found.dialect == "postgresql+asyncpg"
    assert found.url.value == "postgresql+asyncpg://kitsu:kitsu@localhost:5432/kitsu"
    assert found.url.env_var == "DATABASE_URL"
    assert found.poolclass is None and not found.uses_null_pool
    assert found.pool_pre_ping == Resolved(
        False, True, "SQLAlchemy default False (pool_pre_ping not passed)",
        Location("app/database.py", 5), None, (Location("app/database.py", 5),))


def test_kitsu_config_attributes():
    attrs = {a.name: a for a in model("kitsu").config_attributes()}
    assert list(attrs) == ["database_url", "db_pool_size", "db_max_overflow", "db_pool_timeout",
                           "db_pool_recycle", "redis_url", "debug", "secret_key",
                           "jwt_token_expire_minutes", "workers"]
    redis = attrs["redis_url"].default
    assert (redis.known, redis.value, redis.env_var) == (False, None, "REDIS_URL")
    assert redis.source == "from env var REDIS_URL with no default"
    assert attrs["redis_url"].kind == "plain" and attrs["redis_url"].class_qualname == "Settings"


def test_kitsu_lowered_comparison_and_or_fallback():
    attrs = {a.name: a.default for a in model("kitsu").config_attributes()}
    debug = attrs["debug"]
    assert (debug.value, debug.known, debug.env_var) == (False, True, "DEBUG")
    workers = attrs["workers"]  # self.workers = int(os.getenv("WORKERS") or 4) in __init__
    assert (workers.value, workers.known, workers.env_var) == (4, True, "WORKERS")
    assert workers.source == ('default 4 of `os.getenv("WORKERS") or 4` at app/config.py:20 when '
                              "env var WORKERS is unset or empty")


def test_kitsu_secret_in_plain_config_class():
    secrets = model("kitsu").secret_fields()
    assert [(s.field.name, s.value, s.placeholder, s.validated) for s in secrets] == [
        ("secret_key", "change-me-in-production", True, False)]
    assert secrets[0].location == Location("app/config.py", 16)
    assert secrets[0].field.env_var == "SECRET_KEY"


def test_kitsu_has_no_basesettings_fields():
    assert model("kitsu").fields() == []


# -- pydantic-settings v2: env_prefix, Field defaults, aliases, lru_cache'd get_settings() ------
def test_v2_field_env_names():
    envs = {f.name: f.env_var for f in model("pydantic_v2").fields()}
    assert envs["db_pool_size"] == "APP_DB_POOL_SIZE"
    assert envs["read_replica_url"] == "REPLICA_URL"  # alias: no prefix
    assert envs["sentry_dsn"] == "SENTRY_DSN"  # AliasChoices: the first choice
    assert envs["concurrency"] == "WORKER_CONCURRENCY"  # the subclass's own prefix


def test_v2_field_defaults():
    pool = field("pydantic_v2", "Settings", "db_pool_size")
    assert pool.annotation == "int"
    assert pool.location == Location("app/core/config.py", 11)
    assert pool.default == Resolved(20, True, "BaseSettings field db_pool_size default 20",
                                    Location("app/core/config.py", 11), "APP_DB_POOL_SIZE",
                                    (Location("app/core/config.py", 11),))
    assert field("pydantic_v2", "Settings", "db_max_overflow").default.value == 5  # Field(5)
    tags = field("pydantic_v2", "Settings", "tags").default
    assert not tags.known and tags.source == "BaseSettings field tags uses default_factory list"


def test_v2_required_field_is_unknown():
    url = field("pydantic_v2", "Settings", "database_url").default
    assert (url.known, url.value, url.env_var) == (False, None, "APP_DATABASE_URL")
    assert url.source == ("BaseSettings field database_url is required: from env var "
                          "APP_DATABASE_URL with no default")


def test_v2_engine_through_cached_factory_call():
    found = next(e for e in model("pydantic_v2").engines() if e.scope == "make_engine")
    assert found.target == "" and found.is_async  # returned, not assigned
    assert found.pool_size.value == 20
    assert found.pool_size.source == "BaseSettings field db_pool_size default 20"
    assert chain(found.pool_size) == ["app/db.py:10", "app/core/config.py:44",
                                      "app/core/config.py:45", "app/core/config.py:11"]
    assert found.pool_timeout.value == 7.5
    assert found.pool_pre_ping == Resolved(True, True, "literal", Location("app/db.py", 13), None,
                                           (Location("app/db.py", 13),))
    assert not found.url.known and found.url.env_var == "APP_DATABASE_URL"
    assert chain(found.url) == ["app/db.py:9", "app/core/config.py:44", "app/core/config.py:45",
                                "app/core/config.py:10"]
    assert found.dialect is None
    assert found.pool_recycle.source == "SQLAlchemy default -1, never recycle (pool_recycle not passed)"


def test_v2_engine_through_local_settings_variable_and_sqlite_note():
    replica = next(e for e in model("pydantic_v2").engines() if e.scope == "make_replica_engine")
    assert replica.dialect == "sqlite+aiosqlite" and not replica.is_async
    assert replica.url.env_var == "REPLICA_URL"
    assert chain(replica.url) == ["app/db.py:19", "app/db.py:18", "app/core/config.py:44",
                                  "app/core/config.py:45", "app/core/config.py:14"]
    assert replica.pool_size.value == 5
    assert replica.pool_size.source == f"SQLAlchemy default 5 (pool_size not passed); {SQLITE}"
    assert replica.echo.value is False and replica.echo.env_var == "APP_DEBUG"


def test_v2_secret_fields():
    secrets = {s.field.name: s for s in model("pydantic_v2").secret_fields()}
    assert sorted(secrets) == ["api_token", "secret_key", "webhook_secret"]  # "" defaults skipped
    assert (secrets["secret_key"].placeholder, secrets["secret_key"].validated) == (True, False)
    # field_validator("api_token"): validated, but not when the default is used
    assert secrets["api_token"].placeholder is False
    assert (secrets["api_token"].validated, secrets["api_token"].validates_default) == (True, False)
    # a model_validator whose body compares self.webhook_secret
    assert secrets["webhook_secret"].placeholder is True
    assert (secrets["webhook_secret"].validated, secrets["webhook_secret"].validates_default) == (True, True)


def test_v2_settings_classes_include_project_subclasses():
    assert [c.qualname for _, c in model("pydantic_v2").settings_classes()] == [
        "Settings", "WorkerSettings", "CacheSettings", "QueueSettings"]


def test_v2_prefix_from_class_keyword_and_dict_config():
    envs = {(f.class_qualname, f.name): f.env_var for f in model("pydantic_v2").fields()}
    assert envs[("CacheSettings", "ttl")] == "CACHE_TTL"  # class keyword, through a constant
    # model_config as a dict, case_sensitive=True; Field(env=) is ignored by v2
    assert envs[("QueueSettings", "broker_url")] == "queue_broker_url"
    assert envs[("QueueSettings", "max_retries")] == "queue_max_retries"


def test_resolve_public_entry_with_scope():
    mod = project("pydantic_v2").modules["app/db.py"]
    call = next(c for c in mod.calls if c.name == "sqlalchemy.create_engine")
    echo = model("pydantic_v2").resolve(call.keyword("echo"), mod, call.scope)
    assert (echo.value, echo.known, echo.env_var) == (False, True, "APP_DEBUG")
    # Without the scope, `settings` is not bound.
    assert not model("pydantic_v2").resolve(call.keyword("echo"), mod).known
    assert model("pydantic_v2").resolve(None, mod).source == "no value"


# -- module constants ---------------------------------------------------------------------
def test_constants_by_path_and_dotted_name():
    by_path = model("constants").constants("app/settings.py")
    assert by_path == model("constants").constants("app.settings")
    assert model("constants").constants("no/such.py") == {}
    assert by_path["POOL_SIZE"].env_var == "SHOP_POOL_SIZE"  # ENV_PREFIX + "POOL_SIZE"
    assert by_path["POOL_SIZE"].value == 15


def test_constants_decouple_casts():
    consts = model("constants").constants("app/settings.py")
    assert consts["MAX_OVERFLOW"].value == 3
    assert consts["MAX_OVERFLOW"].source == "default 3 of config('MAX_OVERFLOW') at app/settings.py:7"
    debug = consts["DEBUG"]  # decouple's bool cast understands "false"
    assert (debug.value, debug.known, debug.env_var) == (False, True, "DEBUG")
    verbose = consts["VERBOSE"]  # but Python's bool() does not
    assert verbose.value is True and "any non-empty string is true" in verbose.source


def test_constants_fstring_url():
    consts = model("constants").constants("app/settings.py")
    url = consts["DATABASE_URL"]
    assert url.value == "postgresql://shop@localhost:5432/shop"
    assert url.source == "f-string of env var defaults DB_USER, DB_HOST"
    assert chain(url) == ["app/settings.py:12", "app/settings.py:10", "app/settings.py:9"]
    secure = consts["SECURE_URL"]
    assert (secure.known, secure.env_var, secure.prefix) == (False, "DB_PASSWORD", "postgresql+psycopg://shop:")
    assert secure.source == "f-string with an unknown part: from env var DB_PASSWORD with no default"


def test_constants_or_subscript_cycle_and_depth():
    consts = model("constants").constants("app/settings.py")
    timeout = consts["TIMEOUT"]
    assert (timeout.value, timeout.env_var) == ("45", "DB_TIMEOUT")
    assert consts["LIMIT_POOL"].value == 7
    assert consts["LIMIT_POOL"].source == 'LIMITS["pool"] = 7 at app/settings.py:18'
    assert consts["DB_PASSWORD"].source == "from env var DB_PASSWORD with no default"
    assert not consts["ENGINE_OPTIONS"].known  # containers are not scalars
    loop = consts["LOOP_A"]
    assert not loop.known and loop.source == "LOOP_A refers back to itself"
    assert chain(loop) == ["app/settings.py:21", "app/settings.py:22"]
    assert consts["STEP_2"].value == 1  # six steps: followed
    deep = consts["STEP_1"]  # seven: not
    assert not deep.known and deep.source == "STEP_8: more than 6 steps to follow"


def test_constants_engine_with_imported_names_and_mapping_expansion():
    found = engine("constants", "engine")
    assert found.dialect == "postgresql" and not found.is_async
    assert chain(found.pool_size) == ["app/db.py:6", "app/settings.py:6"]
    assert found.max_overflow.value == 3  # conf.MAX_OVERFLOW via `from app import settings as conf`
    recycle = found.pool_recycle  # **ENGINE_OPTIONS
    assert (recycle.value, recycle.source) == (3600, "RECYCLE = 3600 at app/settings.py:15")
    assert chain(recycle) == ["app/db.py:6", "app/settings.py:16", "app/settings.py:15"]
    assert found.pool_pre_ping.value is True


def test_constants_engine_with_unknown_url_keeps_dialect():
    secure = engine("constants", "secure")
    assert not secure.url.known and secure.dialect == "postgresql+psycopg"
    assert secure.pool_timeout.value == 45 and secure.pool_timeout.env_var == "DB_TIMEOUT"
    assert secure.pool_size.value == 7


def test_constants_secret_in_config_module():
    secrets = model("constants").secret_fields()
    assert [(s.field.kind, s.field.name, s.value, s.placeholder) for s in secrets] == [
        ("module", "SECRET_KEY", "dev-secret-key", True)]


# -- engines: defaults, NullPool, sqlite, unknowns ----------------------------------------------
def test_engine_without_pool_arguments_uses_sqlalchemy_defaults():
    plain = engine("engines", "plain")
    here = Location("app/engines.py", 7)
    assert plain.pool_size == Resolved(5, True, "SQLAlchemy default 5 (pool_size not passed)", here,
                                       None, (here,))
    assert plain.max_overflow.value == 10
    assert plain.pool_timeout.source == "SQLAlchemy default 30 seconds (pool_timeout not passed)"
    assert plain.pool_recycle.value == -1
    assert plain.url == Resolved("postgresql://u@h/db", True, "literal", here, None, (here,))
    assert plain.dialect == "postgresql" and not plain.is_async


def test_engine_null_pool():
    null = engine("engines", "nullpool")
    assert null.poolclass == "sqlalchemy.pool.NullPool" and null.uses_null_pool and null.is_async
    for arg in (null.pool_size, null.max_overflow, null.pool_timeout, null.pool_recycle):
        assert (arg.value, arg.known) == (None, True)
        assert arg.source == "not used: poolclass NullPool keeps no pool"
    assert null.pool_pre_ping.value is False


def test_engine_sqlite_memory():
    memory = engine("engines", "memory")
    assert memory.dialect == "sqlite"
    assert memory.max_overflow.source == f"SQLAlchemy default 10 (max_overflow not passed); {SQLITE}"


def test_engine_unknown_arguments():
    dynamic = engine("engines", "dynamic")
    assert not dynamic.url.known and dynamic.url.source == "result of url_from_vault() at app/engines.py:10"
    assert not dynamic.pool_size.known and dynamic.dialect is None
    built = next(e for e in model("engines").engines() if e.scope == "build")
    assert built.url.value == "mysql+pymysql://x@h/db"
    assert not built.pool_size.known
    assert built.pool_size.source == "pool_size not passed explicitly; it may come through kwargs"


def test_engine_in_method_with_parameters():
    db = engine("engines", "self.engine")
    assert db.scope == "Database.__init__" and db.is_async
    assert not db.pool_size.known
    assert db.pool_size.source == "parameter size of Database.__init__() (default 8)"
    assert db.pool_size.location == Location("app/engines.py", 18)
    assert db.url.source == "parameter url of Database.__init__()"
    assert db.pool_recycle.value == 3600


# -- pydantic v1: inner Config, Field(env=), instance keyword overrides, validator(always=True) ---
def test_v1_fields():
    envs = {f.name: f.env_var for f in model("pydantic_v1").fields()}
    assert envs == {"database_url": "DB_URL", "pool_size": "LEGACY_POOL_SIZE",
                    "jwt_secret": "LEGACY_JWT_SECRET", "sentry_token": "LEGACY_SENTRY_TOKEN"}


def test_v1_instance_keyword_overrides_default():
    found = engine("pydantic_v1", "engine")
    assert found.pool_size == Resolved(12, True, "pool_size passed to Settings() = 12 at app/config.py:18",
                                       Location("app/config.py", 18), None,
                                       (Location("app/db.py", 5), Location("app/config.py", 18)))
    assert found.url.value == "postgresql://localhost/app" and found.url.env_var == "DB_URL"


def test_v1_validator_always():
    secrets = {s.field.name: s for s in model("pydantic_v1").secret_fields()}
    assert (secrets["jwt_secret"].placeholder, secrets["jwt_secret"].validated,
            secrets["jwt_secret"].validates_default) == (True, True, True)
    assert (secrets["sentry_token"].placeholder, secrets["sentry_token"].validated) == (False, False)


# -- plain Config class attributes, properties, starlette Config ----------------------------------
def test_plain_config_class_attributes():
    found = engine("mixed", "engine")
    assert found.pool_size.value == 10
    assert found.pool_size.source == "Config.POOL_SIZE = 10 at app/config.py:10"
    assert found.pool_recycle.value == 1800
    assert found.pool_recycle.source == "Config.RECYCLE = POOL_SIZE * 180 = 1800 at app/config.py:11"
    assert chain(found.pool_recycle) == ["app/db.py:7", "app/config.py:11", "app/config.py:10"]
    assert found.max_overflow.value == 4 and found.max_overflow.env_var == "MAX_OVERFLOW"


def test_property_url_with_required_part():
    url = engine("mixed", "engine").url
    assert not url.known and url.env_var == "DB_PASSWORD"
    assert url.prefix == "postgresql+asyncpg://app:"
    assert engine("mixed", "engine").dialect == "postgresql+asyncpg"
    sync = engine("mixed", "sync_engine").url
    assert sync.value == "postgresql://app@db/app"
    assert chain(sync) == ["app/db.py:8", "app/config.py:28", "app/config.py:24", "app/config.py:25",
                           "app/config.py:15", "app/config.py:17"]


def test_starlette_config_bool_cast():
    debug = model("mixed").constants("app/config.py")["DEBUG"]
    assert (debug.value, debug.known, debug.env_var) == (False, True, "DEBUG")


# -- unresolvable and adversarial code ------------------------------------------------------------
def test_edge_unknowns():
    found = engine("edge", "engine")  # `from sqlalchemy import *`: bare create_engine
    assert found.url.source == "os.getenv() of an environment variable whose name is not known"
    assert found.pool_size.source == "pick() returns different values"
    assert found.max_overflow.value == 9 and found.max_overflow.source == "size() returns 9 at app/config.py:20"
    assert found.pool_timeout.source == "result of random.randint() at app/config.py:27"
    assert found.echo.source == "dynamic expression (lambda: 3)()"
    assert not found.pool_recycle.known


def test_edge_constants():
    consts = model("edge").constants("app/config.py")
    assert consts["cfg"].source == "get_cfg refers back to itself"
    assert consts["MISSING"].source == "Settings has no attribute not_there"
    assert consts["LEFT_X"].value == 1  # the class cycle Left <-> Right ends
    assert consts["UNSET"].source == "Settings.NOTHING annotated without a value"
    assert consts["settings"].source == "Settings() creates an instance of Settings"


def test_examples_project_engine():
    shop = build_settings(run_audit(Path(__file__).parents[1] / "examples" / "shopapi",
                                    AuditOptions(use_cache=False, select=("PA001",))).project)
    by_kind = {e.module_kind: e for e in shop.engines()}
    assert by_kind["source"].pool_size.value == 5
    assert by_kind["source"].pool_size.env_var == "DB_POOL_SIZE"
    assert by_kind["test"].uses_null_pool
    assert [(s.field.name, s.value, s.placeholder) for s in shop.secret_fields()] == [
        ("secret_key", "changeme", True)]


# -- name and value classifiers ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("secret_key", True), ("SECRET_KEY", True), ("api_key", True), ("apiKey", True),
    ("jwt_signing_key", True), ("db_password", True), ("github_token", True), ("API_TOKEN", True),
    ("access_token_expire_minutes", False), ("token_url", False), ("keycloak_realm", False),
    ("monkey", False), ("cache_key_prefix", False), ("jwt_algorithm", False), ("password_min_length", False),
])
def test_is_secret_name(name: str, expected: bool):
    assert is_secret_name(name) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("changeme", True), ("CHANGE_ME", True), ("your-secret-key", True), ("secret", True),
    ("django-insecure-abc", True), ("please-change-me", True), ("xxxxxxxx", True),
    ("9f8e7d6c5b4a", False), ("s9Df0-pq", False),
])
def test_is_placeholder(value: str, expected: bool):
    assert is_placeholder(value) is expected


def test_plain_model_field_defaults_and_orm_classes_skipped():
    attrs = {(a.class_qualname, a.name): a.default for a in model("mixed").config_attributes()}
    assert "UserSettings" not in {cls for cls, _ in attrs}  # a mapped table, not configuration
    assert attrs[("QueueConfiguration", "region")].value == "us-east-1"  # Field("us-east-1")
    assert attrs[("QueueConfiguration", "batch_size")].source == "field QueueConfiguration.batch_size default 10"
    required = attrs[("QueueConfiguration", "queue_name")]
    assert not required.known and required.source == "field QueueConfiguration.queue_name is required: no default"
    secrets = model("mixed").secret_fields()
    assert [(s.field.kind, s.field.name, s.value, s.placeholder) for s in secrets] == [
        ("plain", "api_secret", "changethis", True)]


def test_unpacked_constant_says_why_it_is_unknown():
    consts = model("mixed").constants("app/config.py")
    assert consts["DB_PASSWORD"].source == ("DB_PASSWORD bound by unpacking or a statement whose "
                                            "value is not recorded")


def test_settings_parameter_of_dependency_and_transparent_methods():
    by_scope = {e.scope: e for e in model("pydantic_v2").engines()}
    annotated = by_scope["engine_for"]  # settings: Annotated[Settings, Depends(get_settings)]
    assert annotated.url.value == "sqlite+aiosqlite:///replica.db"  # .unicode_string()
    assert annotated.dialect == "sqlite+aiosqlite"
    assert annotated.pool_size.value == 20
    assert chain(annotated.pool_size) == ["app/deps.py:10", "app/deps.py:9", "app/core/config.py:11"]
    plain = by_scope["engine_plain"]  # settings: Settings = Depends(get_settings); str(...)
    assert plain.url.env_var == "REPLICA_URL"
    assert plain.max_overflow.value == 5
