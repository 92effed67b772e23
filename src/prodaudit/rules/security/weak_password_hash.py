from __future__ import annotations

import ast
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.model.extractors._source_gates import may_name_package
from prodaudit.model.values import dotted_name
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.security.names import is_password_name, words

# Fast digests: fine for checksums and cache keys, far too fast for passwords.
FAST_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256",
                         "sha3_384", "sha3_512", "blake2b", "blake2s"})
STORED_HASH_WORDS = frozenset({"password", "passwd", "pwd", "passphrase"})
# Slow password hashes: a fast digest feeding one of these is a pre-hash (bcrypt's 72-byte limit).
SLOW_HASH_PREFIXES = ("passlib", "bcrypt", "argon2", "pwdlib", "hashlib.scrypt", "hashlib.pbkdf2_hmac",
                      "scrypt", "nacl.pwhash", "werkzeug.security.generate_password_hash")
SLOW_HASH_METHODS = frozenset({"hash", "hashpw", "verify", "checkpw", "generate_password_hash"})


def fast_hash(module, call: ast.Call) -> str | None:
    """"sha256" for hashlib.sha256(...) / hashlib.new("sha256", ...), else None."""
    name = module.resolve(call.func)
    if name.startswith("hashlib.") and name.rsplit(".", 1)[-1] in FAST_HASHES:
        return name.rsplit(".", 1)[-1]
    if name == "hashlib.new" and call.args and isinstance(call.args[0], ast.Constant) and \
            str(call.args[0].value).lower().replace("-", "") in FAST_HASHES:
        return str(call.args[0].value).lower()
    return None


def password_input(node: ast.AST) -> str | None:
    """A password-named value hashed by the call: `password`, `user.password`,
    `form["password"]`, `(salt + password).encode()`."""
    for child in ast.walk(node):
        name = None
        if isinstance(child, ast.Name):
            name = child.id
        elif isinstance(child, ast.Attribute):
            name = child.attr
        elif isinstance(child, ast.Subscript) and isinstance(child.slice, ast.Constant) and \
                isinstance(child.slice.value, str):
            name = child.slice.value
        if name and is_password_name(name) and not set(words(name)) & {"hash", "hashed", "reset", "policy"}:
            return name
    return None


def stored_as_password(module, call: ast.Call) -> str | None:
    """The hash lands in a password field: `user.password_hash = ...`, `password=...`."""
    node: ast.AST = call
    parent = module.parent(node)
    while isinstance(parent, (ast.Call, ast.Attribute)) and not isinstance(parent, ast.keyword):
        node, parent = parent, module.parent(parent)
    if isinstance(parent, ast.keyword) and parent.arg and set(words(parent.arg)) & STORED_HASH_WORDS:
        return parent.arg
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        for target in targets:
            text = dotted_name(target) or (target.slice.value if isinstance(target, ast.Subscript) and isinstance(
                target.slice, ast.Constant) else "")
            if isinstance(text, str) and set(words(text.rsplit(".", 1)[-1])) & STORED_HASH_WORDS:
                return text
    return None


@register
class WeakPasswordHash(FileRule):
    """
    ## What it does
    Finds passwords hashed with a fast digest (`hashlib.md5`, `sha1`, `sha256`, `sha512`,
    `blake2`...): a password-named value hashed directly, or a fast digest stored into a
    password field. bcrypt, argon2, scrypt, PBKDF2 and passlib/pwdlib contexts are fine and
    never reported.

    ## Why is this bad?
    Fast digests are built to run billions of times per second on a GPU. A leaked table of
    unsalted or simply salted SHA-256 password hashes is cracked in hours; a slow, salted
    password hash (argon2, bcrypt, scrypt) makes the same attack impractical.

    ## Example
    ```python
    import hashlib

    def hash_password(password: str) -> str:
        return hashlib.sha256(password.encode()).hexdigest()
    ```

    ## Use instead
    ```python
    from passlib.context import CryptContext

    pwd_context = CryptContext(schemes=["argon2", "bcrypt"], deprecated="auto")

    def hash_password(password: str) -> str:
        return pwd_context.hash(password)
    ```

    ## Known limitations
    Passwords are recognised by name (password, passwd, pwd); a password in a variable
    called `value` is missed. Digests of other secrets (API tokens stored hashed, which is
    fine: they have high entropy) are not reported.
    """

    meta = RuleMeta(
        id="PA407", slug="weak-password-hash", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.HIGH,
        summary="password hashed with a fast digest (md5/sha1/sha256) instead of argon2/bcrypt/scrypt",
        effort_minutes=60, cwe=(916, 759), owasp=("A02:2021",),
        fix="Hash passwords with argon2 or bcrypt (passlib/pwdlib CryptContext), and rehash on next "
            "login to migrate old hashes.",
    )

    def check_module(self, module) -> Iterator[Finding]:
        if not may_name_package(module, "hashlib"):
            return  # fast_hash() finds nothing: no name can resolve into hashlib
        for call in module.nodes(ast.Call):
            algorithm = fast_hash(module, call)
            if algorithm is None:
                continue
            hashed = password_input(call)
            stored = stored_as_password(module, call) if hashed is None else None
            if hashed is None and stored is None:
                continue
            fn = module.enclosing_function(call)
            if self.pre_hash(module, call, fn):
                continue
            scope = module.scope_name(fn) if fn is not None else ""
            what = f"`{hashed}` is hashed" if hashed else f"the hash stored in `{stored}` is made"
            yield self.finding(
                f"Password hashed with {algorithm}: {what} with a fast digest, so a leaked hash is "
                f"cracked at GPU speed",
                module.location(call), anchor=f"{module.module}:{scope}:{algorithm}")

    @staticmethod
    def pre_hash(module, call: ast.Call, fn) -> bool:
        """The digest only shortens the password before a slow hash: it is handed to
        bcrypt/passlib/argon2 in the same function, or the function computing it is called
        by one that also calls the slow hash (`pwd_context.hash(_normalize(password))`)."""
        slow_calls = [c for c in module.nodes(ast.Call) if _is_slow_hash(module, c)]
        if not slow_calls:
            return False
        names = {fn.name} if fn is not None else set()
        for slow in slow_calls:
            user = module.enclosing_function(slow)
            if fn is not None and user is fn:
                return True
            scope = user if user is not None else module.tree
            if any(isinstance(c, ast.Call) and (dotted_name(c.func) or "").rsplit(".", 1)[-1] in names
                   for c in ast.walk(scope)):
                return True
        return False


def _is_slow_hash(module, call: ast.Call) -> bool:
    name = module.resolve(call.func)
    if name.startswith(SLOW_HASH_PREFIXES):
        return True
    # pwd_context.hash(...) where pwd_context = CryptContext(...) from passlib
    if isinstance(call.func, ast.Attribute) and call.func.attr in SLOW_HASH_METHODS:
        receiver = dotted_name(call.func.value) or ""
        return bool(set(words(receiver)) & {"pwd", "password", "context", "hasher", "crypt"})
    return False
