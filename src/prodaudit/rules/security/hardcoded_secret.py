from __future__ import annotations

import re

from prodaudit.findings import Confidence, Dimension, Severity
from prodaudit.rules.base import BridgedRule, RuleMeta, register

STRING = re.compile(r"""(?:[rbuRBU]{0,2})(["'])(.*?)(?<!\\)\1""")
# Values that share a name with secrets but are not secrets.
NOT_SECRETS = frozenset({
    "", "bearer", "basic", "token", "password", "secret", "access", "refresh", "jwt",
    "access_token", "refresh_token", "id_token", "api_key", "apikey", "hs256", "rs256",
    "client_credentials", "authorization_code", "none", "null", "***", "****",
})
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")


@register
class HardcodedSecret(BridgedRule):
    """
    ## What it does
    Finds passwords, keys and tokens written in the code: assigned to secret-looking
    names, passed as `password=` arguments or used as defaults (ruff S105-S107), with the
    values that only look like secrets filtered out (token type names like "bearer",
    environment variable names, empty strings).

    ## Why is this bad?
    Whoever can read the repository (every developer, CI, a leaked backup) has the
    secret, and it is the same in every environment. A placeholder default such as
    "changeme" is worse: the service starts and signs tokens with a public key when the
    variable is missing.

    ## Example
    ```python
    JWT_SECRET = "s3cr3t-signing-key"
    ```

    ## Use instead
    ```python
    import os

    JWT_SECRET = os.environ["JWT_SECRET"]
    ```

    ## Known limitations
    Secrets under names that do not look secret, and credentials inside connection URLs,
    are not found by this bridge alone.
    """

    meta = RuleMeta(
        id="PA404", slug="hardcoded-secret", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="secret, password or key written in the code",
        effort_minutes=15, cwe=(798,), owasp=("A07:2021",),
        ruff_codes=("S105", "S106", "S107"), file_kinds=("source",),
        fix="Read secrets from the environment or a secret store; fail at startup when missing.",
    )

    @classmethod
    def accepts(cls, code: str, message: str, path: str, line_text: str, module) -> bool:
        values = [m.group(2) for m in STRING.finditer(line_text)]
        if not values:
            return True  # multi-line statement: trust ruff
        return any(value.strip().lower() not in NOT_SECRETS and not ENV_NAME.match(value)
                   for value in values)
