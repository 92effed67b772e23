from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.model.values import dotted_name
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.security.names import is_password_name, is_secret_name, words

# Calls whose result says nothing secret: len(token) == 32, type(sig) == str.
META_CALLS = frozenset({"len", "type", "bool", "isinstance", "id", "callable", "hasattr", "str.isdigit"})
# Comparing a new password with its confirmation is input validation, not a secret check.
CONFIRM_WORDS = frozenset({"confirm", "confirmation", "repeat", "again", "retype", "new", "old", "previous"})
DIGEST_METHODS = frozenset({"hexdigest", "digest"})
# Function names that say the function decides whether a caller is genuine.
VERIFY_WORDS = frozenset({"verify", "verified", "validate", "valid", "check", "authenticate", "auth",
                          "authorize", "authorise", "webhook", "callback", "login", "signature",
                          "signed", "secure", "compare", "match", "matches", "require", "guard"})
# Methods whose arguments are SQLAlchemy column expressions, compiled to SQL.
SQL_EXPRESSION_CALLS = frozenset({"where", "filter", "having", "join", "outerjoin", "and_", "or_", "not_",
                                  "case", "on_conflict_do_update", "on_conflict_do_nothing"})
HTTP_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "api_route", "route", "websocket",
                             "middleware"})


def secret_name_of(node: ast.expr) -> str | None:
    """The secret-looking name an operand reads: `signature`, `user.api_key`,
    `headers["X-Signature"]`, `request.headers.get("X-Api-Key")`, `hmac.new(...).hexdigest()`."""
    if isinstance(node, ast.Name):
        return node.id if is_secret_name(node.id, allow_hashed=True) else None
    if isinstance(node, ast.Attribute):
        return dotted_name(node) if is_secret_name(node.attr, allow_hashed=True) else None
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and is_secret_name(key.value, allow_hashed=True):
            return f'[{key.value!r}]'
        return None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "get" and node.args and isinstance(node.args[0], ast.Constant) and \
                isinstance(node.args[0].value, str) and is_secret_name(node.args[0].value, allow_hashed=True):
            return f".get({node.args[0].value!r})"
        if node.func.attr in DIGEST_METHODS:
            inner = node.func.value
            if isinstance(inner, ast.Call) and (dotted_name(inner.func) or "").startswith("hmac."):
                return "an HMAC digest"
    return None


def is_meta(node: ast.expr) -> bool:
    """None, constants, lengths and types: comparing those leaks nothing."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.JoinedStr)) and not any(
            isinstance(n, ast.Name) for n in ast.walk(node)):
        return True
    if isinstance(node, ast.Call):
        name = dotted_name(node.func) or ""
        return name in META_CALLS
    if isinstance(node, ast.Attribute) and node.attr.isupper() and "." not in (dotted_name(node.value) or "."):
        return False  # Settings.WEBHOOK_SECRET is a secret, not a constant
    return False


@register
class TimingUnsafeCompare(FileRule):
    """
    ## What it does
    Finds `==`/`!=` comparisons between a secret-looking value (token, signature, API key,
    secret, digest, HMAC, password) and another value, instead of `hmac.compare_digest` or
    `secrets.compare_digest`. Comparisons with None, constants, lengths and types are not
    reported.

    ## Why is this bad?
    `==` on strings stops at the first differing character, so the response time tells an
    attacker how many leading characters of a guess are right; webhook signatures and API
    keys can then be recovered byte by byte. `compare_digest` takes the same time whatever
    the input.

    ## Example
    ```python
    def webhook_is_valid(signature: str, expected_signature: str) -> bool:
        return signature == expected_signature
    ```

    ## Use instead
    ```python
    import hmac

    def webhook_is_valid(signature: str, expected_signature: str) -> bool:
        return hmac.compare_digest(signature, expected_signature)
    ```

    ## Known limitations
    Secrets are recognised by name; a secret in a variable called `value` is missed.
    Comparisons of two user inputs (a password and its confirmation) are not reported, nor
    are column expressions inside SQLAlchemy `where()`/`filter()` (the database compares).
    """

    meta = RuleMeta(
        id="PA409", slug="timing-unsafe-compare", family="security", dimension=Dimension.SECURITY,
        severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="secret (token, signature, API key) compared with == instead of compare_digest",
        effort_minutes=5, cwe=(208,), owasp=("A02:2021",),
        fix="Compare secrets with hmac.compare_digest(a, b) (or secrets.compare_digest).",
    )

    def check_module(self, module) -> Iterator[Finding]:
        for node in module.nodes(ast.Compare):
            if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.Eq, ast.NotEq)):
                continue
            left, right = node.left, node.comparators[0]
            if is_meta(left) or is_meta(right):
                continue
            secret = secret_name_of(left) or secret_name_of(right)
            if secret is None:
                continue
            names = [n for n in (_name(left), _name(right)) if n]
            if len(names) == 2 and all(is_password_name(n) for n in names) and \
                    any(set(words(n)) & CONFIRM_WORDS for n in names):
                continue
            if len(names) == 2 and names[0] == names[1]:
                continue
            if self.in_sql_expression(module, node):
                continue
            fn = module.enclosing_function(node)
            # A pydantic validator of `password_confirm` comparing its value with the password.
            if any(is_password_name(n) for n in names) and any(
                    is_password_name(field) and set(words(field)) & CONFIRM_WORDS
                    for field in _validated_fields(fn)):
                continue
            if not self.verifies(module, node, fn):
                continue  # a lookup (`if token == MAIN_TOKEN: return True`), not a credential check
            scope = module.scope_name(fn) if fn is not None else ""
            op = "==" if isinstance(node.ops[0], ast.Eq) else "!="
            yield self.finding(
                f"Secret `{secret}` compared with {op}: the time the comparison takes leaks how much of "
                f"a guess is right; use hmac.compare_digest",
                module.location(node), anchor=f"{module.module}:{scope}:{secret}")


    @staticmethod
    def in_sql_expression(module, node: ast.Compare) -> bool:
        """`select(T).where(T.token == value)`: a column expression the database compares,
        not a comparison whose time Python leaks."""
        parent = module.parent(node)
        while isinstance(parent, (ast.BoolOp, ast.UnaryOp, ast.Call)):
            if isinstance(parent, ast.Call):
                func = parent.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in SQL_EXPRESSION_CALLS:
                    return True
                if name not in ("and_", "or_", "not_"):
                    return False
            parent = module.parent(parent)
        return False

    @staticmethod
    def verifies(module, node: ast.Compare, fn) -> bool:
        """The comparison decides whether a caller is genuine: it is in a verify/check/auth
        function, an HTTP handler or middleware, or a mismatch makes the code reject."""
        if fn is None:
            return False
        if set(words(fn.name)) & VERIFY_WORDS:
            return True
        for deco in fn.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            if isinstance(target, ast.Attribute) and target.attr in HTTP_DECORATORS:
                return True
        parent = module.parent(node)
        while isinstance(parent, (ast.BoolOp, ast.UnaryOp)):
            parent = module.parent(parent)
        if isinstance(parent, ast.If) and isinstance(node.ops[0], ast.NotEq):
            return any(isinstance(stmt, ast.Raise) or (isinstance(stmt, ast.Return) and (
                stmt.value is None or (isinstance(stmt.value, ast.Constant) and not stmt.value.value)))
                for stmt in parent.body)
        return False


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and \
            isinstance(node.slice.value, str):
        return node.slice.value  # info.data["password"]
    return ""


def _validated_fields(fn) -> list[str]:
    """The fields a pydantic validator (`@field_validator("password_confirm")`,
    `@validator(...)`) checks: its decorators' string arguments."""
    fields: list[str] = []
    for deco in getattr(fn, "decorator_list", ()):
        if isinstance(deco, ast.Call) and (dotted_name(deco.func) or "").rsplit(".", 1)[-1] in (
                "field_validator", "validator"):
            fields.extend(arg.value for arg in deco.args
                          if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return fields
