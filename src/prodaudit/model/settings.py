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

from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, ClassFact, FunctionFact, ModuleSummary
from prodaudit.model.resolve import ImportTable
from prodaudit.model.settings_classes import _ClassesMixin
from prodaudit.model.settings_lookup import _LookupMixin
from prodaudit.model.settings_records import (
    EngineConfig,
    Resolved,
    SecretField,
    SettingsField,
    _Ctx,
    _Entity,
    _loc,
    _no_value,
    _Target,
    _unknown,
    is_placeholder,
    is_secret_name,
)
from prodaudit.model.settings_values import _ValuesMixin
from prodaudit.model.values import Value


class SettingsModel(_ClassesMixin, _LookupMixin, _ValuesMixin):
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



def build_settings(project) -> SettingsModel:
    """The settings model of a project: a pure function of its module summaries (plus, for
    model validators, the text of their lines)."""
    return SettingsModel(project)


__all__ = ["EngineConfig", "Resolved", "SecretField", "SettingsField", "SettingsModel",
           "build_settings", "is_placeholder", "is_secret_name"]
