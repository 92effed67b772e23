"""Settings model: expression/value resolution (a mixin of SettingsModel)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace

from prodaudit.findings import Location
from prodaudit.model.settings_records import (
    _FAIL,
    CONVERSIONS,
    DEFAULT_WRAPPERS,
    ENV_GET,
    ENV_MAPPINGS,
    ENV_READER_CLASSES,
    FIELD_FUNCS,
    MAX_HOPS,
    STR_METHODS,
    TRANSPARENT_CALLS,
    TRANSPARENT_METHODS,
    Resolved,
    _binop,
    _compare,
    _convert,
    _Ctx,
    _join,
    _loc,
    _relined,
    _scalar,
    _show,
    _Target,
    _unknown,
    _written_callee,
)
from prodaudit.model.values import MAX_TEXT, Value, to_value


class _ValuesMixin:
    """Evaluation of expressions to Resolved values."""

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
