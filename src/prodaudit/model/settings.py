"""Settings: what configuration values are, where they come from, and the database
engines built from them.

Everything is read from module summaries (never by importing the audited code). A value
is followed through module constants, imports, `os.getenv`/`os.environ` (and decouple,
starlette and environs readers), `int()`/`float()`/`bool()`/`str()` conversions, `or`
fallbacks, f-strings, pydantic `BaseSettings` fields (v1 and v2, with `env_prefix` and
aliases), plain config classes and their instances, `get_settings()`-style factories
(cached or not) and properties, up to MAX_HOPS definitions deep, with a cycle guard.

A value read from the environment is *known* when it has a default: the default is what
the process runs with when the variable is unset, and `env_var` says which variable can
override it. Without a default it is unknown and `source` says why.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, replace

from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, CallFact, ClassFact, FunctionFact, ModuleSummary
from prodaudit.model.resolve import ImportTable
from prodaudit.model.values import MAX_TEXT, Value, to_value

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


class SettingsModel:
    def __init__(self, project):
        self.project = project
        self._modules = project.summaries()
        self._classes: dict[tuple[str, str], tuple[ModuleSummary, ClassFact]] = {}
        self._class_scopes: dict[str, set[str]] = {}
        self._functions: dict[tuple[str, str], FunctionFact] = {}
        self._function_module: dict[int, ModuleSummary] = {}
        self._assigns: dict[tuple[str, str], dict[str, AssignFact]] = {}
        self._tables: dict[str, ImportTable] = {}
        for module in self._modules:
            self._class_scopes[module.path] = {c.qualname for c in module.classes}
            for cls in module.classes:
                self._classes[(module.path, cls.qualname)] = (module, cls)
            for fn in module.functions:
                self._functions[(module.path, fn.qualname)] = fn
                self._function_module[id(fn)] = module
            for fact in module.assignments:
                if not fact.augmented:
                    self._assigns.setdefault((module.path, fact.scope), {})[fact.target] = fact
        self._settings_memo: dict[tuple[str, str], bool] = {}
        self._fields: list[SettingsField] | None = None
        self._engines: list[EngineConfig] | None = None

    # -- public API ------------------------------------------------------------------
    def resolve(self, value: Value | None, module: ModuleSummary, scope: str = "") -> Resolved:
        """What `value` (an expression of `module`, in `scope`) evaluates to."""
        if value is None:
            return _unknown("no value")
        return self._root(value, self._ctx_for_scope(module, scope))

    def _root(self, value: Value, ctx: _Ctx) -> Resolved:
        try:
            return self._eval(value, ctx, 0, frozenset())
        except RecursionError:  # a guard we missed; never take the audit down
            return _unknown(f"too deeply nested: {value.text}", _loc(ctx.module, value.line))

    def _root_target(self, target: _Target) -> Resolved:
        try:
            return self._eval_target(target, 0, frozenset())
        except RecursionError:
            return _unknown(f"too deeply nested: {target.name}", target.loc)

    def settings_classes(self) -> list[tuple[ModuleSummary, ClassFact]]:
        return [(m, c) for m in self._modules for c in m.classes if self._is_settings(m, c)]

    def fields(self) -> list[SettingsField]:
        """Every field of every BaseSettings class (own fields; inherited ones are listed
        under the class that declares them)."""
        if self._fields is None:
            found = []
            for module, cls in self.settings_classes():
                entity = _Entity("instance", module, cls)
                for fact in self._class_attributes(module, cls):
                    if not self._is_field(fact):
                        continue
                    target = _Target("field", fact.value, _Ctx(module, cls.qualname),
                                     _loc(module, fact.line), name=fact.target, owner=entity,
                                     declared_in=(module, cls))
                    default = self._root_target(target)
                    found.append(SettingsField(
                        cls.qualname, fact.target,
                        fact.annotation.text if fact.annotation else "", default,
                        self._field_env(module, cls, fact, entity), Location(module.path, fact.line),
                        "pydantic", module.kind))
            self._fields = found
        return list(self._fields)

    def config_attributes(self) -> list[SettingsField]:
        """Attributes of plain configuration classes (not BaseSettings): classes named
        *Settings/*Config, or instantiated into a module-level `settings`/`config`."""
        found = []
        for module, cls in self._plain_config_classes():
            entity = _Entity("instance", module, cls)
            names: dict[str, AssignFact] = {}
            for fact in self._class_attributes(module, cls):
                if not fact.target.startswith("_") and fact.target != "model_config":
                    names[fact.target] = fact
            for fact in self._assigns.get((module.path, f"{cls.qualname}.__init__"), {}).values():
                name = fact.target.removeprefix("self.")
                if fact.target.startswith("self.") and "." not in name and not name.startswith("_"):
                    names.setdefault(name, fact)
            for name, fact in sorted(names.items(), key=lambda item: item[1].line):
                target = self._member(entity, name, (), 0, frozenset())
                found.append(SettingsField(
                    cls.qualname, name, fact.annotation.text if fact.annotation else "",
                    (default := self._root_target(target)), default.env_var,
                    Location(module.path, fact.line), "plain", module.kind))
        return found

    def constants(self, module_path: str) -> dict[str, Resolved]:
        """Module-level names of a module (by file path or dotted name), resolved."""
        module = self.project.modules.get(module_path) or self.project.module_named(module_path)
        if module is None:
            return {}
        ctx = _Ctx(module)
        out: dict[str, Resolved] = {}
        for name, fact in sorted(self._assigns.get((module.path, ""), {}).items(),
                                 key=lambda item: item[1].line):
            if "." in name:
                continue
            target = _Target("value", fact.value, ctx, _loc(module, fact.line), name=name,
                             reason=_no_value(fact))
            out[name] = self._root_target(target)
        return out

    def secret_fields(self) -> list[SecretField]:
        """Secret-like settings (BaseSettings fields, config-class attributes, constants of
        config modules) whose default is a non-empty string literal."""
        candidates = [*self.fields(), *self.config_attributes(), *self._config_module_constants()]
        found = []
        for fld in candidates:
            if not is_secret_name(fld.name):
                continue
            default = fld.default
            if not default.known or not isinstance(default.value, str) or not default.value:
                continue
            validated = validates_default = False
            if fld.kind in ("pydantic", "plain"):
                validated, validates_default = self._validation(fld)
            found.append(SecretField(fld, default.value, is_placeholder(default.value),
                                     validated, validates_default))
        return found

    def engines(self) -> list[EngineConfig]:
        if self._engines is None:
            self._engines = [self._engine(m, c) for m in self._modules for c in m.calls
                             if self._engine_kind(m, c) is not None]
        return list(self._engines)

    # -- classes -------------------------------------------------------------------------
    def _table(self, module: ModuleSummary) -> ImportTable:
        table = self._tables.get(module.path)
        if table is None:
            table = self._tables[module.path] = ImportTable(list(module.imports), module.module)
        return table

    def _class_ref(self, module: ModuleSummary, written: str, canonical: str,
                   depth: int = 0) -> tuple[ModuleSummary, ClassFact] | None:
        """The project class a (base or callee) name refers to."""
        if not written or depth > MAX_HOPS:
            return None
        head = written.split(".")[0]
        if (module.path, written) in self._classes and not self._table(module).is_imported(head):
            return self._classes[(module.path, written)]
        if self._assigns.get((module.path, ""), {}).get(head) is not None:
            fact = self._assigns[(module.path, "")][head]
            # `Alias = Settings`
            if fact.value is not None and fact.value.kind in ("name", "attr") and written == head:
                return self._class_ref(module, fact.value.text, fact.value.name, depth + 1)
            return None
        found = self.project.resolve_symbol(canonical) if canonical else None
        if found is not None:
            target, rest = found
            if (target.path, rest) in self._classes:
                return self._classes[(target.path, rest)]
        return None

    def _bases(self, module: ModuleSummary, cls: ClassFact) -> list[tuple[ModuleSummary, ClassFact]]:
        out = []
        for base in cls.bases:
            if base.kind in ("name", "attr"):
                ref = self._class_ref(module, base.text, base.name)
                if ref is not None:
                    out.append(ref)
        return out

    def _mro(self, module: ModuleSummary, cls: ClassFact) -> list[tuple[ModuleSummary, ClassFact]]:
        order: list[tuple[ModuleSummary, ClassFact]] = []
        seen: set[tuple[str, str]] = set()
        stack = [(module, cls)]
        while stack and len(order) < 32:
            m, c = stack.pop(0)
            if (m.path, c.qualname) in seen:
                continue
            seen.add((m.path, c.qualname))
            order.append((m, c))
            stack.extend(self._bases(m, c))
        return order

    def _is_settings(self, module: ModuleSummary, cls: ClassFact) -> bool:
        key = (module.path, cls.qualname)
        if key in self._settings_memo:
            return self._settings_memo[key]
        self._settings_memo[key] = False  # cycle guard
        result = any(b.name in PYDANTIC_SETTINGS for b in cls.bases) or any(
            self._is_settings(m, c) for m, c in self._bases(module, cls))
        self._settings_memo[key] = result
        return result

    def _is_v1(self, module: ModuleSummary, cls: ClassFact) -> bool:
        return any(b.name in PYDANTIC_V1_SETTINGS for m, c in self._mro(module, cls) for b in c.bases)

    def _class_attributes(self, module: ModuleSummary, cls: ClassFact) -> list[AssignFact]:
        facts = self._assigns.get((module.path, cls.qualname), {}).values()
        return sorted((f for f in facts if "." not in f.target), key=lambda f: f.line)

    @staticmethod
    def _is_field(fact: AssignFact) -> bool:
        if fact.target.startswith("_") or fact.target in ("model_config", "Config"):
            return False
        annotation = fact.annotation
        if annotation is not None and (annotation.name.endswith("ClassVar")
                                       or annotation.text.startswith("ClassVar")):
            return False
        return annotation is not None or fact.value is not None

    def _plain_config_classes(self) -> list[tuple[ModuleSummary, ClassFact]]:
        chosen: dict[tuple[str, str], tuple[ModuleSummary, ClassFact]] = {}
        for module in self._modules:
            for cls in module.classes:
                if "." in cls.qualname or self._is_settings(module, cls):
                    continue
                if CONFIG_CLASS_NAME.search(cls.name) and not self._is_orm(module, cls):
                    chosen[(module.path, cls.qualname)] = (module, cls)
            for name, fact in self._assigns.get((module.path, ""), {}).items():
                if name in INSTANCE_NAMES and fact.value is not None and fact.value.kind == "call":
                    ref = self._class_ref(module, _written_callee(fact.value), fact.value.name)
                    if ref is not None and not self._is_settings(*ref) and "." not in ref[1].qualname:
                        chosen[(ref[0].path, ref[1].qualname)] = ref
        return sorted(chosen.values(), key=lambda r: (r[0].path, r[1].line))

    def _is_orm(self, module: ModuleSummary, cls: ClassFact) -> bool:
        """A mapped table class: `__tablename__`, `table=True`, or Column-like attributes."""
        if any(name == "table" for name, _ in cls.keywords):
            return True
        attrs = self._assigns.get((module.path, cls.qualname), {})
        if "__tablename__" in attrs or "__table_args__" in attrs:
            return True
        return any(f.value is not None and f.value.kind == "call" and ORM_CALLS.search(f.value.name)
                   for f in attrs.values())

    def _config_module_constants(self) -> list[SettingsField]:
        out = []
        for module in self._modules:
            parts = module.module.split(".") if module.module else []
            if not parts or not any(CONFIG_MODULE_PART.search(p) for p in parts[-2:]):
                continue
            for name, resolved in self.constants(module.path).items():
                fact = self._assigns[(module.path, "")][name]
                out.append(SettingsField("", name, fact.annotation.text if fact.annotation else "",
                                         resolved, resolved.env_var, Location(module.path, fact.line),
                                         "module", module.kind))
        return out

    # -- settings configuration ------------------------------------------------------------
    def _config_value(self, module: ModuleSummary, cls: ClassFact, key: str) -> Value | None:
        """A pydantic config option of this class or, failing that, its bases."""
        for m, c in self._mro(module, cls):
            for name, value in c.keywords:
                if name == key:
                    return value
            attrs = self._assigns.get((m.path, c.qualname), {})
            config = attrs.get("model_config")
            if config is not None and config.value is not None and config.value.kind in ("call", "dict"):
                found = config.value.keyword(key)
                if found is not None:
                    return found
            inner = self._assigns.get((m.path, f"{c.qualname}.Config"), {}).get(key)
            if inner is not None and inner.value is not None:
                return inner.value
        return None

    def _config_scalar(self, module: ModuleSummary, cls: ClassFact, key: str) -> Scalar:
        value = self._config_value(module, cls, key)
        if value is None:
            return None
        resolved = self._root(value, _Ctx(module, cls.qualname))
        return resolved.value if resolved.known else None

    def _field_call(self, fact: AssignFact) -> Value | None:
        value = fact.value
        if value is not None and value.kind == "call" and value.name in FIELD_FUNCS:
            return value
        if fact.annotation is not None:  # Annotated[str, Field(alias="X")]
            for part in fact.annotation.walk():
                if part.kind == "call" and part.name in FIELD_FUNCS:
                    return part
        return None

    def _field_env(self, module: ModuleSummary, cls: ClassFact, fact: AssignFact,
                   owner: _Entity | None) -> str | None:
        """The environment variable pydantic reads for a field."""
        config_module, config_cls = (owner.module, owner.cls) if owner else (module, cls)
        case_sensitive = self._config_scalar(config_module, config_cls, "case_sensitive") is True
        call = self._field_call(fact)
        alias = None
        if call is not None:
            # `Field(env=...)` is pydantic v1; v2 ignores it.
            keys = ("validation_alias", "alias", "env") if self._is_v1(module, cls) else (
                "validation_alias", "alias")
            for key in keys:
                option = call.keyword(key)
                if option is None:
                    continue
                if option.kind == "call" or option.kind in ("list", "tuple", "set"):
                    option = option.arg(0)  # AliasChoices("A", "B"), env=["A", "B"]
                if option is not None and option.kind == "const" and isinstance(option.const, str):
                    alias = option.const
                    break
        if alias is not None:  # aliases are not prefixed
            return alias if case_sensitive else alias.upper()
        prefix = self._config_scalar(config_module, config_cls, "env_prefix")
        name = f"{prefix if isinstance(prefix, str) else ''}{fact.target}"
        return name if case_sensitive else name.upper()

    def _validation(self, fld: SettingsField) -> tuple[bool, bool]:
        """(validated, validates_default) for a BaseSettings field."""
        ref = self._classes.get((fld.location.path, fld.class_qualname))
        if ref is None:
            return False, False
        module, cls = ref
        fact = self._assigns.get((module.path, cls.qualname), {}).get(fld.name)
        field_call = self._field_call(fact) if fact else None
        validate_default = (
            (field_call is not None and _is_true(field_call.keyword("validate_default")))
            or self._config_scalar(module, cls, "validate_default") is True
            or self._config_scalar(module, cls, "validate_all") is True)
        if fact is not None and fact.annotation is not None:
            for part in fact.annotation.walk():
                if part.kind == "call" and part.name.rsplit(".", 1)[-1] in (
                        "AfterValidator", "BeforeValidator", "PlainValidator", "WrapValidator"):
                    return True, validate_default
        validated = False
        for m, c in self._mro(module, cls):
            for fn in m.functions:
                if fn.class_name != c.qualname:
                    continue
                for deco in fn.decorators:
                    kind = deco.name.rsplit(".", 1)[-1]
                    if kind not in VALIDATOR_DECORATORS:
                        continue
                    if kind in ("model_validator", "root_validator"):
                        if self._function_mentions(m, fn, fld.name):
                            return True, True
                        continue
                    names = {a.const for a in deco.items if a.kind == "const"}
                    if fld.name in names or "*" in names:
                        validated = True
                        if _is_true(deco.keyword("always")):
                            validate_default = True
        return validated, validated and validate_default

    def _function_mentions(self, module: ModuleSummary, fn: FunctionFact, name: str) -> bool:
        word = re.compile(rf"\b{re.escape(name)}\b")
        for call in module.calls:
            if call.scope == fn.qualname and (word.search(call.callee) or any(
                    word.search(v.text) for v in (*call.args, *(k for _, k in call.keywords)))):
                return True
        # Comparisons and attribute reads leave no fact: read the function's lines.
        return any(word.search(self.project.line(module.path, line))
                   for line in range(fn.def_line or fn.line, fn.end_line + 1))

    # -- contexts and lookups ----------------------------------------------------------------
    def _ctx_for_scope(self, module: ModuleSummary, scope: str) -> _Ctx:
        classes = self._class_scopes.get(module.path, set())
        parts = scope.split(".") if scope else []
        for cut in range(len(parts) - 1, 0, -1):
            owner = ".".join(parts[:cut])
            if owner in classes:
                cls = self._classes[(module.path, owner)][1]
                return _Ctx(module, scope, _Entity("instance", module, cls))
        return _Ctx(module, scope)

    def _local_assignment(self, ctx: _Ctx, name: str) -> AssignFact | None:
        """`name` bound in ctx.scope or an enclosing function/module scope (class bodies
        are not enclosing scopes for their methods)."""
        classes = self._class_scopes.get(ctx.module.path, set())
        scope = ctx.scope
        first = True
        while True:
            if first or scope not in classes:
                fact = self._assigns.get((ctx.module.path, scope), {}).get(name)
                if fact is not None:
                    return fact
            if not scope:
                return None
            scope = scope.rpartition(".")[0]
            first = False

    def _lookup(self, written: str, canonical: str, ctx: _Ctx, hops: int,
                seen: frozenset) -> _Target:
        """What a dotted name (as written, and resolved through imports) refers to."""
        module = ctx.module
        parts = written.split(".")
        head = parts[0]
        target: _Target | None = None
        for name, value, arg_ctx in ctx.bindings:
            if name == head:
                target = _Target("value", value, arg_ctx, _loc(arg_ctx.module, value.line), name=head)
                break
        if target is None and head in ("self", "cls") and ctx.instance is not None:
            entity = ctx.instance if head == "self" else replace(ctx.instance, kind="class", call=None)
            target = _Target("entity", entity=entity, name=head)
        if target is None:
            fact = self._local_assignment(ctx, head)
            if fact is not None:
                scope = fact.scope
                target = _Target("value", fact.value, replace(ctx, scope=scope, bindings=ctx.bindings if scope == ctx.scope else ()),
                                 _loc(module, fact.line), name=head,
                                 reason=_no_value(fact))
        if target is None:
            class_scope = ctx.scope if ctx.scope in self._class_scopes.get(module.path, set()) else ""
            for qualname in ([f"{class_scope}.{head}"] if class_scope else []) + [head]:
                if (module.path, qualname) in self._classes and not self._table(module).is_imported(head):
                    target = _Target("entity", entity=_Entity("class", module, self._classes[(module.path, qualname)][1]),
                                     name=head)
                    break
        if target is None and (module.path, head) in self._functions and not self._table(module).is_imported(head):
            fn = self._functions[(module.path, head)]
            target = _Target("function", ctx=_Ctx(module), function=fn, loc=_loc(module, fn.def_line or fn.line), name=head)
        if target is None and canonical == written and not self._table(module).is_imported(head):
            target = self._parameter(ctx, head) or _Target("unknown", reason=f"unresolved name {written}")
            if target.kind == "unknown":
                return target
        if target is None:
            found = self.project.resolve_symbol(canonical)
            if found is None:
                return _Target("unknown", reason=f"{canonical} is not defined in the project")
            other, rest = found
            if rest == canonical or hops >= MAX_HOPS:
                return _Target("unknown", reason=f"unresolved name {written}")
            inner = _Ctx(other)
            rest_head = rest.split(".")[0]
            defined = (self._assigns.get((other.path, ""), {}).get(rest_head) is not None
                       or (other.path, rest_head) in self._classes
                       or (other.path, rest_head) in self._functions)
            if not defined:
                return _Target("unknown", reason=f"{canonical} is not defined in the project")
            return self._lookup(rest, rest, inner, hops + 1, seen)
        for attr in parts[1:]:
            entity = self._target_entity(target, hops, seen)
            if entity is None:
                return _Target("unknown", reason=f"cannot tell what {written.rsplit('.', 1)[0]} is")
            target = self._member(entity, attr, entity.chain, hops + 1, seen)
            if target.kind == "unknown":
                return target
        return target

    def _parameter(self, ctx: _Ctx, name: str) -> _Target | None:
        """An unbound parameter of an enclosing function: its value depends on the caller."""
        scope = ctx.scope
        while scope:
            fn = self._functions.get((ctx.module.path, scope))
            if fn is not None:
                for param in fn.params:
                    if param.name != name:
                        continue
                    loc = _loc(ctx.module, fn.def_line or fn.line)
                    # `settings: Settings = Depends(get_settings)`: an instance of the class.
                    for part in param.annotation.walk() if param.annotation else ():
                        if part.kind in ("name", "attr"):
                            ref = self._class_ref(ctx.module, part.text, part.name)
                            if ref is not None:
                                entity = _Entity("instance", ref[0], ref[1], chain=(loc,) if loc else ())
                                return _Target("entity", entity=entity, name=name)
                    default = f" (default {param.default.text})" if param.default else ""
                    return _Target("unknown", loc=loc,
                                   reason=f"parameter {name} of {fn.qualname}(){default}")
            scope = scope.rpartition(".")[0]
        return None

    def _member(self, entity: _Entity, attr: str, chain: tuple[Location, ...], hops: int,
                seen: frozenset) -> _Target:
        """`attr` of a project class or instance."""
        mro = self._mro(entity.module, entity.cls)
        declared = any(attr in self._assigns.get((m.path, c.qualname), {}) for m, c in mro)
        if entity.kind == "instance" and entity.call is not None and declared:
            override = entity.call.keyword(attr)
            if override is not None and entity.call_ctx is not None:
                return _Target("value", override, entity.call_ctx,
                               _loc(entity.call_ctx.module, override.line),
                               name=f"{attr} passed to {entity.cls.name}()", chain=chain)
        if entity.kind == "instance":
            for m, c in mro:
                for init in ("__init__", "__post_init__"):
                    fact = self._assigns.get((m.path, f"{c.qualname}.{init}"), {}).get(f"self.{attr}")
                    if fact is not None:
                        bindings = ()
                        fn = self._functions.get((m.path, f"{c.qualname}.{init}"))
                        if fn is not None and entity.call is not None and entity.call_ctx is not None:
                            bindings = self._bind(fn, entity.call, entity.call_ctx, method=True)
                        ctx = _Ctx(m, fact.scope, entity, bindings)
                        return _Target("value", fact.value, ctx, _loc(m, fact.line),
                                       name=f"{c.name}.{attr}", chain=chain)
        for m, c in mro:
            fact = self._assigns.get((m.path, c.qualname), {}).get(attr)
            if fact is not None:
                wrapped = (fact.value is not None and fact.value.kind == "call"
                           and fact.value.name in DEFAULT_WRAPPERS)
                if (self._is_settings(m, c) and self._is_field(fact)) or wrapped:
                    owner = entity if self._is_settings(entity.module, entity.cls) else None
                    return _Target("field", fact.value, _Ctx(m, c.qualname), _loc(m, fact.line),
                                   name=attr, chain=chain, owner=owner, declared_in=(m, c))
                return _Target("value", fact.value, _Ctx(m, c.qualname, entity), _loc(m, fact.line),
                               name=f"{c.name}.{attr}", chain=chain,
                               reason=_no_value(fact))
        for m, c in mro:
            fn = self._functions.get((m.path, f"{c.qualname}.{attr}"))
            if fn is not None:
                if any(d.name in PROPERTY_DECORATORS or d.text in PROPERTY_DECORATORS
                       for d in fn.decorators):
                    return _Target("function", ctx=_Ctx(m, fn.qualname, entity), function=fn,
                                   loc=_loc(m, fn.def_line or fn.line), name=f"{c.name}.{attr}", chain=chain)
                return _Target("unknown", reason=f"{c.name}.{attr} is a method")
            inner = self._classes.get((m.path, f"{c.qualname}.{attr}"))
            if inner is not None:
                return _Target("entity", entity=_Entity("class", m, inner[1], chain=chain),
                               name=f"{c.name}.{attr}")
        return _Target("unknown", reason=f"{entity.cls.name} has no attribute {attr}")

    def _bind(self, fn: FunctionFact, call: Value, call_ctx: _Ctx,
              method: bool) -> tuple[tuple[str, Value, _Ctx], ...]:
        params = [p for p in fn.params if p.kind in ("posonly", "arg", "kwonly")]
        if method and params and params[0].name in ("self", "cls"):
            params = params[1:]
        module = call_ctx.module
        bound: dict[str, tuple[Value, _Ctx]] = {}
        positional = [p for p in params if p.kind != "kwonly"]
        for param, arg in zip(positional, call.items):
            if arg.kind != "starred":
                bound[param.name] = (arg, call_ctx)
        for key, arg in call.keywords:
            if key != "**":
                bound[key] = (arg, call_ctx)
        definer = self._function_module.get(id(fn), module)
        for param in params:
            if param.name not in bound and param.default is not None:
                bound[param.name] = (param.default, _Ctx(definer))
        return tuple((name, value, ctx) for name, (value, ctx) in bound.items())

    def _target_entity(self, target: _Target, hops: int, seen: frozenset) -> _Entity | None:
        if target.kind == "entity":
            return target.entity
        if hops > MAX_HOPS:
            return None
        chain = _join(target.chain, (target.loc,) if target.loc else ())
        if target.kind in ("value", "field") and target.value is not None and target.ctx is not None:
            key = ("entity", target.ctx.module.path, target.value.line, target.value.text)
            if key in seen:
                return None
            value = target.value
            if target.kind == "field" and value.kind == "call" and value.name in DEFAULT_WRAPPERS:
                value = (value.arg(0) if value.name in FIELD_FUNCS else None) or value.keyword("default")
                if value is None:
                    factory = target.value.keyword("default_factory")
                    if factory is None:
                        return None
                    value = Value("call", f"{factory.text}()", name=factory.name, line=factory.line)
            entity = self._entity_of(value, target.ctx, hops + 1, seen | {key})
            return replace(entity, chain=_join(chain, entity.chain)) if entity else None
        if target.kind == "function" and target.function is not None and target.ctx is not None:
            return self._returned_entity(target.function, target.ctx, chain, hops, seen)
        return None

    def _returned_entity(self, fn: FunctionFact, ctx: _Ctx, chain: tuple[Location, ...],
                         hops: int, seen: frozenset) -> _Entity | None:
        key = ("returns", ctx.module.path, fn.qualname)
        if key in seen:
            return None
        inner = replace(ctx, scope=fn.qualname)
        for value in fn.return_values:
            if value is None:
                continue
            entity = self._entity_of(value, inner, hops + 1, seen | {key})
            if entity is not None:
                return replace(entity, chain=_join(chain, (_loc(ctx.module, value.line),), entity.chain))
        return None

    def _entity_of(self, value: Value, ctx: _Ctx, hops: int, seen: frozenset) -> _Entity | None:
        """The project class or instance an expression evaluates to."""
        if hops > MAX_HOPS:
            return None
        if value.kind in ("name", "attr"):
            target = self._lookup(value.text, value.name, ctx, hops, seen)
            return self._target_entity(target, hops, seen)
        if value.kind == "call":
            written = _written_callee(value)
            if not written:
                return self._entity_of_text(value, ctx, hops, seen)
            target = self._lookup(written, value.name, ctx, hops, seen)
            if target.kind == "entity" and target.entity is not None and target.entity.kind == "class":
                return _Entity("instance", target.entity.module, target.entity.cls, value, ctx,
                               target.entity.chain)
            if target.kind == "function" and target.function is not None and target.ctx is not None:
                bindings = self._bind(target.function, value, ctx, method=False)
                fn_ctx = replace(target.ctx, bindings=bindings)
                return self._returned_entity(target.function, fn_ctx,
                                             _join(target.chain, (target.loc,) if target.loc else ()),
                                             hops, seen)
            return None
        if value.kind == "other":
            return self._entity_of_text(value, ctx, hops, seen)
        return None

    def _entity_of_text(self, value: Value, ctx: _Ctx, hops: int, seen: frozenset) -> _Entity | None:
        node = self._parse(value)
        if isinstance(node, ast.Attribute):
            base = self._entity_of_node(node.value, ctx, value.line, hops, seen)
            if base is None:
                return None
            target = self._member(base, node.attr, base.chain, hops + 1, seen)
            return self._target_entity(target, hops + 1, seen)
        return None

    def _entity_of_node(self, node: ast.AST, ctx: _Ctx, line: int, hops: int,
                        seen: frozenset) -> _Entity | None:
        converted = to_value(node, self._table(ctx.module).resolve)
        if converted is None:
            return None
        return self._entity_of(_relined(converted, line), ctx, hops, seen)

    # -- evaluation --------------------------------------------------------------------------
    def _eval(self, value: Value, ctx: _Ctx, hops: int, seen: frozenset) -> Resolved:
        loc = _loc(ctx.module, value.line)
        kind = value.kind
        if kind == "const":
            if not _scalar(value.const):
                return _unknown(f"{type(value.const).__name__} literal", loc)
            return Resolved(value.const, True, "literal", loc, None, (loc,) if loc else ())
        if kind in ("name", "attr"):
            target = self._lookup(value.text, value.name, ctx, hops, seen)
            resolved = self._eval_target(target, hops + 1, seen)
            return replace(resolved, chain=_join((loc,) if loc else (), resolved.chain))
        if kind == "call":
            return self._eval_call(value, ctx, loc, hops, seen)
        if kind == "subscript":
            return self._eval_subscript(value, ctx, loc, hops, seen)
        if kind == "fstring":
            return self._eval_fstring(value, ctx, loc, hops, seen)
        if kind == "binop":
            return self._eval_binop(value, ctx, loc, hops, seen)
        if kind == "other":
            node = self._parse(value)
            if node is not None:
                return self._eval_node(node, value, ctx, hops, seen)
            return _unknown(f"dynamic expression {value.text}", loc)
        return _unknown(f"{kind} expression {value.text}", loc)

    def _eval_target(self, target: _Target, hops: int, seen: frozenset) -> Resolved:
        if target.kind == "unknown":
            return _unknown(target.reason, target.loc, chain=target.chain)
        if target.kind == "entity":
            what = "class" if target.entity and target.entity.kind == "class" else "instance"
            name = target.entity.cls.name if target.entity else target.name
            return _unknown(f"{target.name} is an {what} of {name}" if what == "instance"
                            else f"{target.name} is the class {name}", chain=target.chain)
        if hops > MAX_HOPS:
            return _unknown(f"{target.name}: more than {MAX_HOPS} steps to follow", target.loc,
                            chain=target.chain)
        key = (target.loc.path if target.loc else "", target.loc.line if target.loc else 0, target.name)
        if key in seen:
            return _unknown(f"{target.name} refers back to itself", target.loc, chain=target.chain)
        seen = seen | {key}
        if target.kind == "function":
            return self._eval_function(target, hops, seen)
        if target.kind == "field":
            return self._eval_field(target, hops, seen)
        before = _join(target.chain, (target.loc,) if target.loc else ())
        if target.value is None or target.ctx is None:
            return _unknown(f"{target.name} {target.reason or 'has no value'}", target.loc,
                            chain=target.chain)
        inner = self._eval(target.value, target.ctx, hops, seen)
        source = inner.source
        if target.loc and inner.known and source == "literal":
            source = f"{target.name} = {_show(inner.value)} at {target.loc}"
        elif target.loc and inner.known and source.startswith("computed "):
            source = f"{target.name} = {target.value.text} = {_show(inner.value)} at {target.loc}"
        return replace(inner, source=source, chain=_join(before, inner.chain))

    def _eval_function(self, target: _Target, hops: int, seen: frozenset) -> Resolved:
        fn, ctx = target.function, target.ctx
        before = _join(target.chain, (target.loc,) if target.loc else ())
        values = [v for v in fn.return_values if v is not None]
        if not values:
            return _unknown(f"{target.name}() returns nothing we can read", target.loc, chain=target.chain)
        results = [self._eval(v, replace(ctx, scope=fn.qualname), hops, seen) for v in values]
        first = results[0]
        if any(r.known != first.known or r.value != first.value for r in results[1:]):
            return _unknown(f"{target.name}() returns different values", target.loc, chain=before)
        source = first.source
        if source == "literal":
            source = f"{target.name}() returns {_show(first.value)} at {first.location}"
        return replace(first, source=source, chain=_join(before, first.chain))

    def _eval_field(self, target: _Target, hops: int, seen: frozenset) -> Resolved:
        module, cls = target.declared_in
        fact = self._assigns.get((module.path, cls.qualname), {}).get(target.name)
        settings = self._is_settings(module, cls)
        env = self._field_env(module, cls, fact, target.owner) if fact and settings else None
        before = _join(target.chain, (target.loc,) if target.loc else ())
        value = target.value
        label = f"BaseSettings field {target.name}" if settings else f"field {cls.name}.{target.name}"
        if value is not None and value.kind == "call" and value.name in DEFAULT_WRAPPERS:
            default = (value.arg(0) if value.name in FIELD_FUNCS else None) or value.keyword("default")
            if default is None and value.keyword("default_factory") is not None:
                return _unknown(f"{label} uses default_factory {value.keyword('default_factory').text}",
                                target.loc, env, target.chain)
            value = default
        if value is None or (value.kind == "const" and value.const is Ellipsis):
            reason = f"from env var {env} with no default" if env else "no default"
            return _unknown(f"{label} is required: {reason}", target.loc, env, target.chain)
        inner = self._eval(value, target.ctx, hops, seen)
        if not inner.known:
            return replace(inner, source=f"{label}: {inner.source}", env_var=env,
                           chain=_join(before, inner.chain))
        detail = "" if inner.source == "literal" else f" ({inner.source})"
        return Resolved(inner.value, True, f"{label} default {_show(inner.value)}{detail}",
                        inner.location or target.loc, env, _join(before, inner.chain))

    def _eval_call(self, value: Value, ctx: _Ctx, loc: Location | None, hops: int,
                   seen: frozenset) -> Resolved:
        name = value.name
        written = _written_callee(value)
        here = (loc,) if loc else ()
        if not written:
            node = self._parse(value)
            if node is not None:
                return self._eval_node(node, value, ctx, hops, seen)
            return _unknown(f"dynamic expression {value.text}", loc)
        if name in ENV_GET:
            key, default = value.arg(0) or value.keyword("key"), value.arg(1) or value.keyword("default")
            return self._env_read(written, key, default, None, "os", ctx, loc, hops, seen)
        reader = self._env_reader(written, name, ctx, hops, seen)
        if reader is not None:
            style, method = reader
            key = value.arg(0) or value.keyword("key") or value.keyword("option")
            if style == "starlette":
                cast, default = value.arg(1) or value.keyword("cast"), value.arg(2) or value.keyword("default")
            elif style == "decouple":
                default, cast = value.arg(1) or value.keyword("default"), value.arg(2) or value.keyword("cast")
            else:  # environs / django-environ: env.int("X", 5), env("X", default=...)
                default = value.arg(1) or value.keyword("default")
                cast = Value("name", method, name=method) if method in CONVERSIONS else value.keyword("cast")
            return self._env_read(written, key, default, cast, style, ctx, loc, hops, seen)
        if name in CONVERSIONS or name.removeprefix("builtins.") in CONVERSIONS:
            if len(value.items) != 1:
                if not value.items and not value.keywords:
                    result = CONVERSIONS[name.removeprefix("builtins.")]()
                    return Resolved(result, True, "literal", loc, None, here)
                return _unknown(f"{value.text}: conversion with extra arguments", loc)
            inner = self._eval(value.arg(0), ctx, hops, seen)
            return _convert(name.removeprefix("builtins."), inner, loc, "python")
        if name in TRANSPARENT_CALLS and len(value.items) == 1:
            inner = self._eval(value.arg(0), ctx, hops, seen)
            return replace(inner, chain=_join(here, inner.chain))
        receiver, _, method = written.rpartition(".")
        if method in TRANSPARENT_METHODS and receiver and not value.items and not value.keywords:
            canonical = name.rpartition(".")[0] if name.endswith(f".{method}") else receiver
            inner = self._eval(Value("attr" if "." in receiver else "name", receiver, name=canonical,
                                     line=value.line), ctx, hops, seen)
            return replace(inner, chain=_join(here, inner.chain))
        target = self._lookup(written, name, ctx, hops, seen)
        if target.kind == "function" and target.function is not None and target.ctx is not None:
            bindings = self._bind(target.function, value, ctx, method=False)
            bound = replace(target, ctx=replace(target.ctx, bindings=bindings))
            resolved = self._eval_target(bound, hops + 1, seen)
            return replace(resolved, chain=_join(here, resolved.chain))
        if target.kind == "entity" and target.entity is not None:
            return _unknown(f"{value.text} creates an instance of {target.entity.cls.name}", loc)
        return _unknown(f"result of {written}() at {loc}", loc)

    def _env_reader(self, written: str, name: str, ctx: _Ctx, hops: int,
                    seen: frozenset) -> tuple[str, str] | None:
        """(style, method) when the callee reads the environment: `config("X")` of a
        decouple/starlette Config, `env.int("X")` of an environs Env, `decouple.config`."""
        if name == "decouple.config":
            return "decouple", ""
        obj, _, method = written.rpartition(".")
        for candidate, meth in ((written, ""), (obj, method)):
            if not candidate or (meth and meth not in (*CONVERSIONS, "")):
                continue
            head = candidate.split(".")[0]
            fact = self._local_assignment(ctx, head) if candidate == head else None
            if fact is not None and fact.value is not None and fact.value.kind == "call":
                style = ENV_READER_CLASSES.get(fact.value.name)
                if style is None and fact.value.name == "decouple.config":
                    style = "decouple"
                if style is not None:
                    return style, meth
            elif fact is None and candidate:
                canonical = self._table(ctx.module).resolve(candidate)
                if canonical == "decouple.config":
                    return "decouple", meth
                found = self.project.resolve_symbol(canonical) if canonical != candidate else None
                if found is not None and "." not in found[1]:
                    other = self._assigns.get((found[0].path, ""), {}).get(found[1])
                    if other is not None and other.value is not None and other.value.kind == "call":
                        style = ENV_READER_CLASSES.get(other.value.name)
                        if style is not None:
                            return style, meth
        return None

    def _env_read(self, written: str, key: Value | None, default: Value | None, cast: Value | None,
                  style: str, ctx: _Ctx, loc: Location | None, hops: int, seen: frozenset) -> Resolved:
        here = (loc,) if loc else ()
        key_resolved = self._eval(key, ctx, hops, seen) if key is not None else None
        if key_resolved is None or not key_resolved.known or not isinstance(key_resolved.value, str):
            return _unknown(f"{written}() of an environment variable whose name is not known", loc)
        env = key_resolved.value
        call_text = f"{written}({env!r})"
        if default is None or (default.kind == "name" and default.text == "undefined"):
            return _unknown(f"from env var {env} with no default", loc, env)
        inner = self._eval(default, ctx, hops, seen)
        if not inner.known:
            return _unknown(f"from env var {env}; its default is unknown: {inner.source}", loc, env,
                            _join(here, inner.chain), inner.prefix)
        where = f" at {loc}" if loc else ""
        resolved = Resolved(inner.value, True, f"default {_show(inner.value)} of {call_text}{where}",
                            loc, env, _join(here, inner.chain))
        if inner.source != "literal":
            resolved = replace(resolved, source=f"{resolved.source} ({inner.source})",
                               location=inner.location or loc)
        if cast is not None:
            cast_name = cast.name.removeprefix("builtins.") if cast.kind in ("name", "attr") else ""
            if cast_name in CONVERSIONS:
                resolved = _convert(cast_name, resolved, loc, style)
            else:
                return _unknown(f"from env var {env}, default cast by {cast.text}", loc, env,
                                resolved.chain)
        return resolved

    def _eval_subscript(self, value: Value, ctx: _Ctx, loc: Location | None, hops: int,
                        seen: frozenset) -> Resolved:
        key = value.arg(0)
        if value.name in ENV_MAPPINGS:
            resolved = self._eval(key, ctx, hops, seen) if key is not None else None
            if resolved is not None and resolved.known and isinstance(resolved.value, str):
                return _unknown(f"from env var {resolved.value} with no default", loc, resolved.value)
            return _unknown(f"{value.text}: environment variable name not known", loc)
        base = value.text.split("[", 1)[0]
        if key is None or not re.fullmatch(r"[A-Za-z_][\w.]*", base):
            return _unknown(f"dynamic expression {value.text}", loc)
        key_resolved = self._eval(key, ctx, hops, seen)
        target = self._lookup(base, value.name, ctx, hops, seen)
        if not key_resolved.known or target.kind != "value" or target.value is None:
            return _unknown(f"dynamic expression {value.text}", loc)
        container = target.value
        if container.kind == "dict":
            for name, item in container.keywords:
                if name == str(key_resolved.value) and name != "**":
                    if target.ctx is None:
                        break
                    inner = self._eval(item, target.ctx, hops + 1, seen)
                    if inner.source == "literal":
                        inner = replace(inner, source=f"{value.text} = {_show(inner.value)} at {inner.location}")
                    return replace(inner, chain=_join((loc,) if loc else (), (target.loc,), inner.chain))
        if container.kind in ("list", "tuple") and isinstance(key_resolved.value, int):
            index = key_resolved.value
            if -len(container.items) <= index < len(container.items) and target.ctx is not None:
                inner = self._eval(container.items[index], target.ctx, hops + 1, seen)
                return replace(inner, chain=_join((loc,) if loc else (), (target.loc,), inner.chain))
        return _unknown(f"dynamic expression {value.text}", loc)

    def _eval_fstring(self, value: Value, ctx: _Ctx, loc: Location | None, hops: int,
                      seen: frozenset) -> Resolved:
        pieces: list[str] = []
        chain: tuple[Location, ...] = (loc,) if loc else ()
        envs: list[str] = []
        prefix: str | None = None
        missing: Resolved | None = None
        for part in value.items:
            resolved = self._eval(part, ctx, hops, seen)
            chain = _join(chain, resolved.chain)
            if resolved.env_var:
                envs.append(resolved.env_var)
            if not resolved.known:
                if missing is None:
                    missing, prefix = resolved, "".join(pieces) + resolved.prefix
                continue
            text = str(resolved.value)
            pieces.append(text)
        if missing is not None:
            return Resolved(None, False, f"f-string with an unknown part: {missing.source}", loc,
                            missing.env_var, chain, prefix or "")
        text = "".join(pieces)
        source = "f-string" + (f" of env var defaults {', '.join(dict.fromkeys(envs))}" if envs else "")
        env = envs[0] if len(set(envs)) == 1 else None
        return Resolved(text, True, source, loc, env, chain)

    def _eval_binop(self, value: Value, ctx: _Ctx, loc: Location | None, hops: int,
                    seen: frozenset) -> Resolved:
        if len(value.items) != 2:
            return _unknown(f"dynamic expression {value.text}", loc)
        left = self._eval(value.items[0], ctx, hops, seen)
        right = self._eval(value.items[1], ctx, hops, seen)
        chain = _join((loc,) if loc else (), left.chain, right.chain)
        envs = [r.env_var for r in (left, right) if r.env_var]
        if not (left.known and right.known):
            missing = left if not left.known else right
            prefix = ""
            if value.name == "Add":
                if left.known and isinstance(left.value, str):
                    prefix = left.value + right.prefix
                elif not left.known:
                    prefix = left.prefix
            return Resolved(None, False, f"{value.text}: {missing.source}", loc, missing.env_var,
                            chain, prefix)
        result = _binop(value.name, left.value, right.value)
        if result is _FAIL:
            return _unknown(f"{value.text} cannot be computed", loc, chain=chain)
        source = "literal" if left.source == right.source == "literal" else f"computed {value.text}"
        return Resolved(result, True, source, loc, envs[0] if len(envs) == 1 else None, chain)

    # -- expressions the summary keeps only as text (`a or b`, `x.lower() == "true"`) -------
    def _parse(self, value: Value) -> ast.expr | None:
        text = value.text
        if not text or (len(text) >= MAX_TEXT - 3 and text.endswith("...")):
            return None
        try:
            return ast.parse(text, mode="eval").body
        except (SyntaxError, ValueError):
            return None

    def _eval_node(self, node: ast.expr, origin: Value, ctx: _Ctx, hops: int,
                   seen: frozenset) -> Resolved:
        line = origin.line
        loc = _loc(ctx.module, line)
        here = (loc,) if loc else ()
        if isinstance(node, ast.BoolOp):
            results = []
            for operand in node.values:
                resolved = self._eval_node(operand, origin, ctx, hops, seen)
                results.append(resolved)
                if isinstance(node.op, ast.Or):
                    if resolved.known and resolved.value:
                        return self._or_result(results, origin, loc)
                    if not resolved.known and not resolved.env_var:
                        return _unknown(f"{origin.text}: {resolved.source}", loc, chain=resolved.chain)
                else:
                    if not resolved.known:
                        return _unknown(f"{origin.text}: {resolved.source}", loc, resolved.env_var,
                                        resolved.chain)
                    if not resolved.value:
                        return replace(resolved, source=f"computed {origin.text}")
            if isinstance(node.op, ast.Or):
                return self._or_result(results, origin, loc)
            last = results[-1]
            return replace(last, source=f"computed {origin.text}",
                           chain=_join(here, *(r.chain for r in results)))
        if isinstance(node, ast.IfExp):
            test = self._eval_node(node.test, origin, ctx, hops, seen)
            if not test.known:
                return _unknown(f"{origin.text}: condition {test.source}", loc, test.env_var, test.chain)
            branch = self._eval_node(node.body if test.value else node.orelse, origin, ctx, hops, seen)
            return replace(branch, chain=_join(here, test.chain, branch.chain))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self._eval_node(node.operand, origin, ctx, hops, seen)
            if not inner.known:
                return inner
            return replace(inner, value=not inner.value, source=f"computed {origin.text}")
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left = self._eval_node(node.left, origin, ctx, hops, seen)
            right_node = node.comparators[0]
            if isinstance(right_node, (ast.Tuple, ast.List, ast.Set)):
                try:
                    right_value = ast.literal_eval(right_node)
                except (ValueError, SyntaxError, TypeError):
                    return _unknown(f"dynamic expression {origin.text}", loc)
                right = Resolved(None, True, "literal")
            else:
                right = self._eval_node(right_node, origin, ctx, hops, seen)
                right_value = right.value
            if not (left.known and right.known):
                missing = left if not left.known else right
                return _unknown(f"{origin.text}: {missing.source}", loc, missing.env_var,
                                _join(here, left.chain, right.chain))
            result = _compare(node.ops[0], left.value, right_value)
            if result is _FAIL:
                return _unknown(f"{origin.text} cannot be computed", loc)
            envs = [r.env_var for r in (left, right) if r.env_var]
            return Resolved(result, True, f"computed {origin.text} from {left.source}", loc,
                            envs[0] if envs else None, _join(here, left.chain, right.chain))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in STR_METHODS and not node.args and not node.keywords):
            inner = self._eval_node(node.func.value, origin, ctx, hops, seen)
            if not inner.known or not isinstance(inner.value, str):
                return inner if not inner.known else _unknown(f"{origin.text}: not a string", loc)
            return replace(inner, value=getattr(inner.value, node.func.attr)(),
                           source=f"{inner.source}, .{node.func.attr}()")
        if isinstance(node, ast.Attribute) and not isinstance(node.value, (ast.Name, ast.Attribute)):
            base = self._entity_of_node(node.value, ctx, line, hops, seen)
            if base is None:
                return _unknown(f"dynamic expression {origin.text}", loc)
            target = self._member(base, node.attr, base.chain, hops + 1, seen)
            resolved = self._eval_target(target, hops + 1, seen)
            return replace(resolved, chain=_join(here, resolved.chain))
        converted = to_value(node, self._table(ctx.module).resolve)
        if converted is None or converted.kind == "other" or (
                converted.kind == "call" and not _written_callee(converted)):
            # Only text again: evaluating it would parse the same text forever.
            return _unknown(f"dynamic expression {origin.text}", loc)
        return self._eval(_relined(converted, line), ctx, hops, seen)

    @staticmethod
    def _or_result(results: list[Resolved], origin: Value, loc: Location | None) -> Resolved:
        """`a or b or c`: the first truthy known operand, after operands that are env vars
        (unset: empty) or known falsy values."""
        final = results[-1]
        envs = [r.env_var for r in results[:-1] if r.env_var and not r.known]
        chain = _join((loc,) if loc else (), *(r.chain for r in results))
        if not final.known:
            return _unknown(f"{origin.text}: {final.source}", loc, final.env_var, chain)
        if envs:
            return Resolved(final.value, True,
                            f"default {_show(final.value)} of `{origin.text}` at {loc} when env var "
                            f"{envs[0]} is unset or empty", loc, envs[0], chain)
        return replace(final, chain=chain)

    # -- engines ---------------------------------------------------------------------------
    def _engine_kind(self, module: ModuleSummary, call: CallFact) -> bool | None:
        if call.name in ENGINE_FUNCS:
            return ENGINE_FUNCS[call.name]
        if call.name in ("create_engine", "create_async_engine") and call.callee == call.name:
            star = any(f.local == "*" and f.target.startswith(("sqlalchemy", "sqlmodel"))
                       for f in module.imports)
            if star and (module.path, call.name) not in self._functions:
                return call.name == "create_async_engine"
        return None

    def _engine(self, module: ModuleSummary, call: CallFact) -> EngineConfig:
        ctx = self._ctx_for_scope(module, call.scope)
        loc = Location(module.path, call.line)
        keywords: dict[str, tuple[Value, _Ctx, tuple[Location, ...]]] = {}
        opaque: list[str] = []
        for key, value in call.keywords:
            if key != "**":
                keywords[key] = (value, ctx, ())
                continue
            expanded = self._dict_items(value, ctx, (loc,))
            if expanded is None:
                opaque.append(value.text)
            else:
                for k, item in expanded.items():
                    keywords.setdefault(k, item)
        if call.has_star_args and any(a.kind == "starred" for a in call.args):
            opaque.extend(a.text for a in call.args if a.kind == "starred")
        url_value = call.args[0] if call.args and call.args[0].kind != "starred" else None
        url = (self._root(url_value, ctx) if url_value is not None
               else self._keyword(keywords, "url"))
        if url is None:
            url = (_unknown(f"URL may be passed through {', '.join(opaque)}", loc) if opaque
                   else _unknown("no URL argument", loc))
        dialect = _dialect(url, url_value)
        poolclass_value = keywords.get("poolclass")
        poolclass = None
        if poolclass_value is not None:
            pv = poolclass_value[0]
            poolclass = pv.name or pv.text if pv.kind in ("name", "attr") else pv.text
        no_pool = bool(poolclass) and poolclass.rsplit(".", 1)[-1] == "NullPool"
        sqlite = bool(dialect) and dialect.split("+")[0] == "sqlite"

        def arg(name: str) -> Resolved:
            found = self._keyword(keywords, name)
            if found is not None:
                return found
            if opaque:
                return _unknown(f"{name} not passed explicitly; it may come through "
                                f"{', '.join(opaque)}", loc)
            if no_pool and name in NO_POOL_ARGS:
                return Resolved(None, True, f"not used: poolclass {poolclass.rsplit('.', 1)[-1]} "
                                "keeps no pool", loc, None, (loc,))
            default = SA_DEFAULTS[name]
            note = f"; {SQLITE_NOTE}" if sqlite and name in NO_POOL_ARGS else ""
            return Resolved(default, True, f"SQLAlchemy default {_show(default)}{SA_UNITS.get(name, '')} "
                            f"({name} not passed){note}", loc, None, (loc,))

        return EngineConfig(
            location=loc, url=url, pool_size=arg("pool_size"), max_overflow=arg("max_overflow"),
            pool_timeout=arg("pool_timeout"), pool_recycle=arg("pool_recycle"),
            pool_pre_ping=arg("pool_pre_ping"), poolclass=poolclass,
            is_async=bool(self._engine_kind(module, call)), scope=call.scope, dialect=dialect,
            echo=arg("echo"), target=call.target, module_kind=module.kind)

    def _keyword(self, keywords: dict[str, tuple[Value, _Ctx, tuple[Location, ...]]],
                 name: str) -> Resolved | None:
        found = keywords.get(name)
        if found is None:
            return None
        value, ctx, before = found
        resolved = self._root(value, ctx)
        return replace(resolved, chain=_join(before, resolved.chain))

    def _dict_items(self, value: Value, ctx: _Ctx, chain: tuple[Location, ...],
                    hops: int = 0) -> dict[str, tuple[Value, _Ctx, tuple[Location, ...]]] | None:
        """Keys of a `**mapping` argument, when it is a dict literal or a name bound to one;
        each with the way there."""
        if hops > MAX_HOPS:
            return None
        if value.kind == "dict" or (value.kind == "call" and value.name in ("dict", "builtins.dict")
                                    and not value.items):
            if any(key == "**" for key, _ in value.keywords):
                return None
            return {key: (item, ctx, chain) for key, item in value.keywords}
        if value.kind in ("name", "attr"):
            target = self._lookup(value.text, value.name, ctx, hops, frozenset())
            if target.kind == "value" and target.value is not None and target.ctx is not None:
                way = _join(chain, target.chain, (target.loc,) if target.loc else ())
                return self._dict_items(target.value, target.ctx, way, hops + 1)
        return None


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


def build_settings(project) -> SettingsModel:
    """The settings model of a project: a pure function of its module summaries (plus, for
    model validators, the text of their lines)."""
    return SettingsModel(project)


__all__ = ["EngineConfig", "Resolved", "SecretField", "SettingsField", "SettingsModel",
           "build_settings", "is_placeholder", "is_secret_name"]
