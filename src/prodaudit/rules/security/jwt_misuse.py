from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Severity
from prodaudit.model.extractors._source_gates import may_name_package
from prodaudit.model.values import dotted_name
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.security.names import words

DECODE = frozenset({"jwt.decode", "jwt.api_jwt.decode", "jose.jwt.decode", "jwt.PyJWT.decode"})
ENCODE = frozenset({"jwt.encode", "jwt.api_jwt.encode", "jose.jwt.encode", "jwt.PyJWT.encode"})
# Functions whose decoded claims are trusted: an unverified decode there is a bypass.
AUTH_FUNCTION_WORDS = frozenset({"auth", "authenticate", "current", "verify", "validate", "require",
                                 "login", "decode", "access", "permission", "admin"})


@register
class JwtMisuse(FileRule):
    """
    ## What it does
    Finds JSON Web Token calls that weaken verification: `jwt.decode` without
    `algorithms=`, with `options={"verify_signature": False}` or `verify=False`, an
    algorithm list containing `"none"`, and `jwt.encode` of a payload (a dict literal,
    directly or through a local variable) that has no `"exp"` claim.

    ## Why is this bad?
    Without a pinned algorithm list, older PyJWT and python-jose let the token's own header
    choose the algorithm (the "none" and HMAC-with-public-key confusions); PyJWT 2 refuses
    every token instead. A decode that skips the signature trusts claims anyone can write.
    A token without `exp` stays valid forever once leaked.

    ## Example
    ```python
    import jwt

    def current_user_id(token: str, key: str) -> int:
        claims = jwt.decode(token, key, options={"verify_signature": False})
        return int(claims["sub"])
    ```

    ## Use instead
    ```python
    import jwt

    def current_user_id(token: str, key: str) -> int:
        claims = jwt.decode(token, key, algorithms=["HS256"])
        return int(claims["sub"])
    ```

    ## Known limitations
    Only PyJWT and python-jose. A payload built elsewhere (passed in, copied from another
    dict) is not judged for `exp`; an `exp` added through `update()` or item assignment in
    the same function is recognised. An unverified decode outside auth code (reading the
    `kid` of a provider's token) is reported at medium as a review item.
    """

    meta = RuleMeta(
        id="PA408", slug="jwt-misuse", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="JWT decoded without a pinned algorithm or signature check, 'none' algorithm, token without exp",
        effort_minutes=15, cwe=(347, 613), owasp=("A02:2021", "A07:2021"), technology=("pyjwt", "python-jose"),
        fix="Decode with algorithms=[<the one algorithm you sign with>] and the signature verified; "
            "put an exp claim in every token.",
    )

    def check_module(self, module) -> Iterator[Finding]:
        if not may_name_package(module, "jwt", "jose"):
            return  # no call can resolve to DECODE or ENCODE
        for call in module.nodes(ast.Call):
            name = module.resolve(call.func)
            if name in DECODE:
                yield from self.check_decode(module, call, name)
            elif name in ENCODE:
                yield from self.check_encode(module, call, name)

    def check_decode(self, module, call: ast.Call, name: str) -> Iterator[Finding]:
        if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
            return
        keywords = {k.arg: k.value for k in call.keywords}
        fn = module.enclosing_function(call)
        where = f"{module.module}:{module.scope_name(fn) if fn is not None else ''}"
        algorithms = keywords.get("algorithms") or (call.args[2] if len(call.args) > 2 else None)
        if algorithms is not None and _contains_none(algorithms):
            yield self.finding(f"`{name}` accepts the 'none' algorithm: unsigned tokens pass as valid",
                               module.location(algorithms), severity=Severity.CRITICAL, anchor=f"{where}:none")
            return
        unverified = _unverified(keywords)
        if unverified:
            in_auth = fn is not None and bool(set(words(fn.name)) & AUTH_FUNCTION_WORDS)
            yield self.finding(
                f"`{name}` with {unverified}: the signature is not checked, so anyone can forge the claims"
                + ("" if in_auth else " (review: fine only if nothing trusts them)"),
                module.location(call), severity=Severity.HIGH if in_auth else Severity.MEDIUM,
                confidence=Confidence.HIGH if in_auth else Confidence.MEDIUM, anchor=f"{where}:unverified")
            return
        if algorithms is None:
            yield self.finding(
                f"`{name}` without algorithms=: the token's header picks the algorithm (python-jose, "
                f"PyJWT 1.x), or PyJWT 2 rejects every token",
                module.location(call), anchor=f"{where}:algorithms")

    def check_encode(self, module, call: ast.Call, name: str) -> Iterator[Finding]:
        fn = module.enclosing_function(call)
        where = f"{module.module}:{module.scope_name(fn) if fn is not None else ''}"
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        algorithm = keywords.get("algorithm") or (call.args[2] if len(call.args) > 2 else None)
        if algorithm is not None and _contains_none(algorithm):
            yield self.finding(f"`{name}` signs with the 'none' algorithm: the token carries no signature",
                               module.location(algorithm), severity=Severity.CRITICAL, anchor=f"{where}:encode-none")
            return
        payload = call.args[0] if call.args else keywords.get("payload") or keywords.get("claims")
        if payload is None:
            return
        literal, defined_at = _payload_literal(module, fn, payload, call)
        if literal is None:
            return
        keys = set()
        for key in literal.keys:
            if key is None:
                return  # **other: claims we cannot see
            if not isinstance(key, ast.Constant):
                return
            keys.add(key.value)
        if "exp" in keys:
            return
        if isinstance(payload, ast.Name) and fn is not None and _exp_added_later(fn, payload.id):
            return
        evidence = [] if defined_at is None else [Evidence(module.location(defined_at), "payload built here without exp")]
        yield self.finding(f"`{name}` of a payload without an `exp` claim: the token never expires",
                           module.location(call), severity=Severity.MEDIUM, evidence=evidence,
                           anchor=f"{where}:no-exp")


def _contains_none(node: ast.AST) -> bool:
    return any(isinstance(c, ast.Constant) and isinstance(c.value, str) and c.value.lower() == "none"
               for c in ast.walk(node))


def _unverified(keywords: dict[str, ast.expr]) -> str:
    verify = keywords.get("verify")
    if isinstance(verify, ast.Constant) and verify.value is False:
        return "verify=False"
    options = keywords.get("options")
    if isinstance(options, ast.Dict):
        for key, value in zip(options.keys, options.values):
            if isinstance(key, ast.Constant) and key.value == "verify_signature" and \
                    isinstance(value, ast.Constant) and value.value is False:
                return 'options={"verify_signature": False}'
    return ""


def _payload_literal(module, fn, payload: ast.expr, call: ast.Call) -> tuple[ast.Dict | None, ast.AST | None]:
    if isinstance(payload, ast.Dict):
        return payload, None
    if not isinstance(payload, ast.Name) or fn is None:
        return None, None
    bindings = [node for node in ast.walk(fn) if isinstance(node, (ast.Assign, ast.AnnAssign))
                and any(isinstance(t, ast.Name) and t.id == payload.id
                        for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))]
    if len(bindings) != 1 or bindings[0].lineno > call.lineno:
        return None, None
    value = bindings[0].value
    return (value, bindings[0]) if isinstance(value, ast.Dict) else (None, None)


def _exp_added_later(fn: ast.AST, name: str) -> bool:
    """`payload["exp"] = ...`, `payload.update({"exp": ...})`, `payload.update(exp=...)`,
    `payload |= {...}`, or any update we cannot read (then assume it may add exp)."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and dotted_name(target.value) == name:
                    key = target.slice
                    if not isinstance(key, ast.Constant) or key.value == "exp":
                        return True
        elif isinstance(node, ast.AugAssign) and dotted_name(node.target) == name or isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                dotted_name(node.func.value) == name and node.func.attr in ("update", "setdefault", "__setitem__"):
            return True
    return False
