"""Settings model: contexts and lookups of names (a mixin of SettingsModel)."""

from __future__ import annotations

import ast
from dataclasses import replace

from prodaudit.findings import Location
from prodaudit.model.facts import AssignFact, FunctionFact, ModuleSummary
from prodaudit.model.settings_records import (
    DEFAULT_WRAPPERS,
    FIELD_FUNCS,
    MAX_HOPS,
    PROPERTY_DECORATORS,
    _Ctx,
    _Entity,
    _join,
    _loc,
    _no_value,
    _relined,
    _Target,
    _written_callee,
)
from prodaudit.model.values import Value, to_value


class _LookupMixin:
    """Contexts, name lookups and the entities (classes, instances) names stand for."""

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
