"""What names in code say about their values: secret-looking identifiers, and the words of
URL paths and function names the security rules classify endpoints by.

Names are split into lowercase words (`X-Api-Key`, `apiKey`, `api_key` -> api, key) and
judged by their words, never by substrings, so `token_type`, `max_tokens` and
`monkey` are not secrets.
"""

from __future__ import annotations

import re

_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")

# Words that make a name secret on their own.
SECRET_WORDS = frozenset({
    "token", "secret", "password", "passwd", "pwd", "signature", "apikey", "hmac", "digest",
    "credential", "credentials", "otp", "csrf", "jwt", "passphrase",
})
# Words that make a name secret together with "key".
KEY_QUALIFIERS = frozenset({"api", "secret", "private", "signing", "access", "encryption",
                            "master", "client", "auth", "hmac", "webhook"})
# Words that turn a secret-looking name into something about the secret, not the secret:
# token_type, max_tokens, password_min_length, secret_name, token_expires_at.
NOT_SECRET_WORDS = frozenset({
    "type", "types", "count", "counts", "limit", "limits", "max", "min", "len", "length",
    "usage", "used", "expires", "expire", "expiry", "expiration", "exp", "ttl", "lifetime",
    "name", "names", "url", "uri", "header", "prefix", "kind", "page", "next", "cursor", "id",
    "ids", "algorithm", "algorithms", "alg", "field", "fields", "env", "path", "file", "format",
    "tokens", "required", "enabled", "valid", "is", "has", "policy", "regex", "pattern",
    "version", "scheme", "label", "hint", "endpoint", "location", "timeout", "minutes",
    "seconds", "hours", "days", "at", "created", "updated", "rounds", "strength", "form",
    "schema", "model", "request", "response", "err", "error", "errors", "exception", "hash",
    "hashed", "verified", "verify", "status", "storage", "store", "kid", "size", "param",
    "params", "query", "cookie", "set", "get", "bucket", "strategy", "mode", "cache", "manager",
    "service", "provider", "repository", "repo", "handler", "validator", "generator", "factory",
    "backend",
})


def words(name: str) -> list[str]:
    """`verify_API_key` -> ["verify", "api", "key"]; `/users/{user_id}` -> users, user, id."""
    return [w.lower() for w in _SPLIT.split(name) if w]


def is_secret_name(name: str, *, allow_hashed: bool = False) -> bool:
    """A name whose value is a secret: token, api_key, X-Signature, client_secret, jwt.

    `allow_hashed` also accepts digests of secrets (`password_hash`, `token_digest`),
    which is right for comparisons and wrong for logging (a hash is not the secret).
    """
    parts = words(name)
    if not parts:
        return False
    blockers = NOT_SECRET_WORDS - ({"hash", "hashed"} if allow_hashed else set())
    if any(p in blockers for p in parts):
        return False
    if any(p in SECRET_WORDS for p in parts):
        return True
    joined = "".join(parts)
    if "apikey" in joined or joined.endswith(("secretkey", "privatekey", "signingkey")):
        return True
    return any(p == "key" and i > 0 and parts[i - 1] in KEY_QUALIFIERS for i, p in enumerate(parts))


def is_password_name(name: str) -> bool:
    parts = words(name)
    return any(p in ("password", "passwd", "pwd", "passphrase") for p in parts) or "password" in "".join(parts)


def last_identifier(dotted: str) -> str:
    """`request.headers.x_api_key` -> `x_api_key`."""
    return dotted.rsplit(".", 1)[-1]
