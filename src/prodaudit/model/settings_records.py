"""Constants, records and small helpers of the settings model (model/settings.py)."""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, replace

from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, ClassFact, FunctionFact, ModuleSummary
from prodaudit.model.values import Value

Scalar = int | float | str | bool | None
MAX_HOPS = 6
MAX_STRING = 4096

PYDANTIC_SETTINGS = frozenset({
    "pydantic.BaseSettings", "pydantic_settings.BaseSettings", "pydantic.env_settings.BaseSettings",
    "pydantic.v1.BaseSettings", "pydantic.v1.env_settings.BaseSettings",
})
PYDANTIC_V1_SETTINGS = frozenset({"pydantic.BaseSettings", "pydantic.env_settings.BaseSettings",
                                  "pydantic.v1.BaseSettings", "pydantic.v1.env_settings.BaseSettings"})
FIELD_FUNCS = frozenset({"pydantic.Field", "pydantic.fields.Field", "pydantic.v1.Field",
                         "pydantic.v1.fields.Field", "sqlmodel.Field", "Field"})
# Calls whose keyword `default` (or first argument, for pydantic) is a field's default.
DEFAULT_WRAPPERS = FIELD_FUNCS | {"dataclasses.field", "attrs.field", "attr.ib", "attr.attrib"}
ORM_CALLS = re.compile(r"^(sqlalchemy|sqlmodel)\.|(^|\.)(Column|mapped_column|relationship)$")
CONFIG_CALLS = frozenset({"pydantic_settings.SettingsConfigDict", "pydantic.ConfigDict",
                          "pydantic.config.ConfigDict", "dict", "SettingsConfigDict"})
ENGINE_FUNCS = {
    "sqlalchemy.create_engine": False,
    "sqlalchemy.ext.asyncio.create_async_engine": True,
    "sqlmodel.create_engine": False,
    "sqlmodel.ext.asyncio.create_async_engine": True,
}
ENV_GET = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "os.environ.pop"})
ENV_MAPPINGS = frozenset({"os.environ"})
# Objects whose call reads an environment variable: `config = Config(".env")`.
ENV_READER_CLASSES = {"decouple.AutoConfig": "decouple", "decouple.Config": "decouple",
                      "decouple.RepositoryEnv": "decouple", "starlette.config.Config": "starlette",
                      "environs.Env": "environs", "environ.Env": "django-environ"}
CONVERSIONS = {"int": int, "float": float, "str": str, "bool": bool}
TRANSPARENT_CALLS = frozenset({"pydantic.SecretStr", "pydantic.types.SecretStr", "SecretStr",
                               "sqlalchemy.make_url", "sqlalchemy.engine.make_url",
                               "sqlalchemy.engine.url.make_url"})
# Methods that give back their receiver's value: settings.DATABASE_URL.unicode_string().
TRANSPARENT_METHODS = frozenset({"unicode_string", "get_secret_value", "render_as_string"})
STR_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "title", "casefold",
                         "capitalize"})
PROPERTY_DECORATORS = frozenset({"property", "functools.cached_property", "cached_property",
                                 "pydantic.computed_field", "computed_field"})
VALIDATOR_DECORATORS = frozenset({"field_validator", "validator", "model_validator",
                                  "root_validator"})
TRUE_TEXT = frozenset({"1", "true", "yes", "on", "y", "t"})
FALSE_TEXT = frozenset({"0", "false", "no", "off", "n", "f", ""})
# SQLAlchemy's documented create_engine defaults.
SA_DEFAULTS = {"pool_size": 5, "max_overflow": 10, "pool_timeout": 30, "pool_recycle": -1,
               "pool_pre_ping": False, "echo": False}
SA_UNITS = {"pool_timeout": " seconds", "pool_recycle": ", never recycle"}
NO_POOL_ARGS = ("pool_size", "max_overflow", "pool_timeout", "pool_recycle")
SQLITE_NOTE = ("sqlite URL: SQLAlchemy 2.x uses SingletonThreadPool/StaticPool for :memory: "
               "and QueuePool for files (NullPool before 2.0), so pool settings may not apply")
SECRET_PART = re.compile(r"secret|password|passwd|token|^pwd$|^pass$|^key$|apikey|privatekey|"
                         r"signingkey|secretkey|^dsn$")
NOT_SECRET_PARTS = frozenset({
    "url", "uri", "urls", "expire", "expires", "expiry", "expiration", "ttl", "minutes",
    "seconds", "hours", "days", "lifetime", "age", "length", "len", "algorithm", "algorithms",
    "alg", "type", "name", "header", "prefix", "path", "file", "dir", "endpoint", "size",
    "count", "max", "min", "timeout", "location", "field", "env", "min_length", "rounds",
    "enabled", "required", "version", "id", "ids", "cookie", "param", "scheme",
})
PLACEHOLDERS = frozenset({
    "changeme", "change-me", "change_me", "secret", "secretkey", "secret-key", "secret_key",
    "your-secret-key", "your_secret_key", "yoursecretkey", "your-secret", "supersecret",
    "super-secret", "super_secret", "mysecret", "my-secret", "password", "pass", "passwd",
    "default", "test", "testing", "dev", "development", "xxx", "xxxx", "todo", "replaceme",
    "replace-me", "replace_me", "insecure", "example", "dummy", "fake", "foo", "bar",
    "admin", "root", "123456", "12345678", "token", "key", "apikey", "api-key", "api_key",
    "notsecret", "not-secret", "s3cr3t",
})
PLACEHOLDER_WORDS = re.compile(r"change|your[-_ ]|insecure|replace|example|placeholder|dummy|"
                               r"not[-_ ]?secret|dev[-_]?secret|^x+$", re.IGNORECASE)
CONFIG_CLASS_NAME = re.compile(r"(Settings|Config|Configuration|Conf)$")
CONFIG_MODULE_PART = re.compile(r"^(config|settings|conf|configuration|constants|env)$|"
                                r"_(config|settings|conf)$|^(config|settings)_")
INSTANCE_NAMES = frozenset({"settings", "config", "conf", "cfg", "configuration", "app_settings",
                            "app_config", "CONFIG", "SETTINGS"})
URL_DIALECT = re.compile(r"^\s*([A-Za-z][\w+.-]*)://")


# -- public records ----------------------------------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """What an expression evaluates to, as far as static reading can tell."""

    value: Scalar
    known: bool
    source: str
    location: Location | None = None
    env_var: str | None = None
    chain: tuple[Location, ...] = ()
    # The known start of a partly known string: "postgresql+asyncpg://" of an f-string URL.
    prefix: str = ""

    def __str__(self) -> str:
        shown = _show(self.value) if self.known else "unknown"
        return f"{shown} ({self.source})"


@dataclass(frozen=True)
class SettingsField:
    class_qualname: str  # "" for a module-level constant
    name: str
    annotation: str
    default: Resolved
    env_var: str | None
    location: Location
    kind: str = "pydantic"  # pydantic (BaseSettings), plain (config class), module (constant)
    module_kind: str = "source"


@dataclass(frozen=True)
class SecretField:
    field: SettingsField
    value: str
    placeholder: bool
    # A field_validator/validator/model_validator of the class mentions the field.
    validated: bool
    # ... and it also runs on the default (model_validator, validate_default=True, always=True).
    validates_default: bool = False

    @property
    def location(self) -> Location:
        return self.field.location


@dataclass(frozen=True)
class EngineConfig:
    location: Location
    url: Resolved
    pool_size: Resolved
    max_overflow: Resolved
    pool_timeout: Resolved
    pool_recycle: Resolved
    pool_pre_ping: Resolved
    poolclass: str | None  # canonical name as written ("sqlalchemy.pool.NullPool")
    is_async: bool
    scope: str  # "" at module level, else the enclosing function's qualname
    dialect: str | None
    echo: Resolved | None = None
    target: str = ""  # the name the engine is assigned to
    module_kind: str = "source"

    @property
    def uses_null_pool(self) -> bool:
        return bool(self.poolclass) and self.poolclass.rsplit(".", 1)[-1] == "NullPool"

    @property
    def at_module_level(self) -> bool:
        return self.scope == ""


# -- internal records --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Ctx:
    module: ModuleSummary
    scope: str = ""
    instance: _Entity | None = None  # what `self` is
    bindings: tuple[tuple[str, Value, _Ctx], ...] = ()  # parameter -> argument


@dataclass(frozen=True, eq=False)
class _Entity:
    kind: str  # class, instance
    module: ModuleSummary
    cls: ClassFact
    call: Value | None = None  # the instantiation, for keyword overrides
    call_ctx: _Ctx | None = None
    chain: tuple[Location, ...] = ()


@dataclass(frozen=True, eq=False)
class _Target:
    kind: str  # value, field, entity, function, unknown
    value: Value | None = None
    ctx: _Ctx | None = None
    loc: Location | None = None
    entity: _Entity | None = None
    function: FunctionFact | None = None
    name: str = ""  # what was looked up ("DB_POOL_SIZE", "Settings.db_pool_size")
    reason: str = ""
    chain: tuple[Location, ...] = ()  # hops before `loc`
    owner: _Entity | None = None  # field: the settings entity it is read from
    declared_in: tuple[ModuleSummary, ClassFact] | None = None


def _show(value: object) -> str:
    return repr(value)


def _loc(module: ModuleSummary, line: int) -> Location | None:
    return Location(module.path, line) if line else None


def _join(*chains: tuple[Location, ...]) -> tuple[Location, ...]:
    """Chains concatenated in order; a place already on the chain is not repeated."""
    out: list[Location] = []
    for chain in chains:
        for loc in chain:
            if loc is not None and loc not in out:
                out.append(loc)
    return tuple(out)


def _unknown(reason: str, loc: Location | None = None, env_var: str | None = None,
             chain: tuple[Location, ...] = (), prefix: str = "") -> Resolved:
    """`chain` is the way to `loc` (or through it); `loc` ends it when not on it."""
    return Resolved(None, False, reason, loc, env_var, _join(chain, (loc,) if loc else ()), prefix)


def _relined(value: Value, line: int) -> Value:
    return replace(value, line=line, items=tuple(_relined(v, line) for v in value.items),
                   keywords=tuple((k, _relined(v, line)) for k, v in value.keywords))


def _written_callee(value: Value) -> str:
    """The dotted callee of a call Value as written in the source ("os.getenv")."""
    head = value.text.split("(", 1)[0].strip()
    return head if re.fullmatch(r"[A-Za-z_][\w.]*", head) else ""


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (int, float, str, bool))



# -- helpers -------------------------------------------------------------------------------
_FAIL = object()
_BINOPS = {"Add": operator.add, "Sub": operator.sub, "Mult": operator.mul,
           "Div": operator.truediv, "FloorDiv": operator.floordiv, "Mod": operator.mod,
           "Pow": operator.pow}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
            ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_,
            ast.IsNot: operator.is_not, ast.In: lambda a, b: a in b,
            ast.NotIn: lambda a, b: a not in b}


def _binop(op: str, left: object, right: object) -> object:
    fn = _BINOPS.get(op)
    if fn is None:
        return _FAIL
    if op == "Pow" and (not isinstance(right, (int, float)) or abs(right) > 64):
        return _FAIL
    if op == "Mult" and (isinstance(left, str) or isinstance(right, str)):
        count = right if isinstance(left, str) else left
        if not isinstance(count, int) or count > MAX_STRING:
            return _FAIL
    try:
        result = fn(left, right)
    except (ArithmeticError, TypeError, ValueError):  # 1 / 0, "a" - 1, "%d" % "x"
        return _FAIL
    if not _scalar(result) or (isinstance(result, str) and len(result) > MAX_STRING):
        return _FAIL
    return result


def _compare(op: ast.cmpop, left: object, right: object) -> object:
    fn = _COMPARE.get(type(op))
    if fn is None:
        return _FAIL
    try:
        return bool(fn(left, right))
    except (TypeError, ValueError):  # comparing unorderable values
        return _FAIL


def _convert(name: str, inner: Resolved, loc: Location | None, style: str) -> Resolved:
    """Apply int()/float()/bool()/str() to a resolved value; `style` "python" for the
    builtins, or a library whose cast of strings to bool understands "false"."""
    if not inner.known:
        return inner
    value = inner.value
    if name == "bool" and isinstance(value, str) and style != "python":
        lowered = value.strip().lower()
        if lowered in TRUE_TEXT or lowered in FALSE_TEXT:
            result: object = lowered in TRUE_TEXT
        else:
            return _unknown(f"{inner.source}: {value!r} is not a boolean for {style}", loc,
                            inner.env_var, inner.chain)
    else:
        try:
            result = CONVERSIONS[name](value)
        except (TypeError, ValueError, OverflowError):
            return _unknown(f"{inner.source}: {name}({value!r}) raises", loc, inner.env_var, inner.chain)
    if result == value and type(result) is type(value):
        return inner
    note = " (any non-empty string is true)" if name == "bool" and isinstance(value, str) and style == "python" else ""
    return replace(inner, value=result, source=f"{inner.source}, {name}() gives {_show(result)}{note}")


def _no_value(fact: AssignFact) -> str:
    if fact.value is not None:
        return ""
    if fact.annotation is not None:
        return "annotated without a value"
    return "bound by unpacking or a statement whose value is not recorded"


def _is_true(value: Value | None) -> bool:
    return value is not None and value.kind == "const" and value.const is True


def _dialect(url: Resolved, url_value: Value | None) -> str | None:
    text = url.value if url.known and isinstance(url.value, str) else url.prefix
    match = URL_DIALECT.match(text or "")
    if match:
        return match.group(1)
    if url_value is not None and url_value.kind == "call" and url_value.name.endswith("URL.create"):
        driver = url_value.arg(0) or url_value.keyword("drivername")
        if driver is not None and driver.kind == "const" and isinstance(driver.const, str):
            return driver.const
    return None


def is_secret_name(name: str) -> bool:
    parts = [p for p in re.split(r"_+|(?<=[a-z])(?=[A-Z])", name.lower()) if p]
    if not parts or any(p in NOT_SECRET_PARTS for p in parts):
        return False
    joined = "".join(parts)
    return any(SECRET_PART.search(p) for p in parts) or bool(
        re.search(r"(secret|password|token|apikey|privatekey|secretkey|signingkey)", joined))


def is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in PLACEHOLDERS or bool(PLACEHOLDER_WORDS.search(lowered))
