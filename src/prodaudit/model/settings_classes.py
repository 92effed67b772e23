"""Settings model: BaseSettings/config classes, fields, secrets and engines (a mixin)."""

from __future__ import annotations

import re
from dataclasses import replace

from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, CallFact, ClassFact, FunctionFact, ModuleSummary
from prodaudit.model.resolve import ImportTable
from prodaudit.model.settings_records import (
    CONFIG_CLASS_NAME,
    CONFIG_MODULE_PART,
    ENGINE_FUNCS,
    FIELD_FUNCS,
    INSTANCE_NAMES,
    MAX_HOPS,
    NO_POOL_ARGS,
    ORM_CALLS,
    PYDANTIC_SETTINGS,
    PYDANTIC_V1_SETTINGS,
    SA_DEFAULTS,
    SA_UNITS,
    SQLITE_NOTE,
    VALIDATOR_DECORATORS,
    EngineConfig,
    Resolved,
    Scalar,
    SettingsField,
    _Ctx,
    _dialect,
    _Entity,
    _is_true,
    _join,
    _show,
    _unknown,
    _written_callee,
)
from prodaudit.model.values import Value


class _ClassesMixin:
    """Settings and config classes, their fields and configuration, and engines."""

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
