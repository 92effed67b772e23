from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

# `.env.test`/`.env.testing`: test settings, committed on purpose with test values.
TEMPLATE = re.compile(r"\.(example|sample|template|dist|defaults?|tmpl|test|testing|tests)(\.|$)", re.IGNORECASE)
# Settings that share a word with secrets but hold none (ACCESS_TOKEN_EXPIRE_MINUTES).
NOT_SECRET_KEY = re.compile(r"(expire|ttl|minutes|seconds|hours|days|length|algorithm|type|lifetime|"
                            r"timeout|enabled|_len$|max_|min_|header|name$|prefix)", re.IGNORECASE)
SECRET_KEY = re.compile(r"(secret|password|passwd|token|api_?key|private_?key|credential|dsn|_url)", re.IGNORECASE)
# Placeholders written out: "*** REPLACE ***", "fakefakefake", "changeme-in-prod".
PLACEHOLDER_WORD = re.compile(r"replace|change[-_ ]?me|fake|dummy|placeholder|\*\*\*", re.IGNORECASE)
PLACEHOLDER = re.compile(r"^(|change[-_]?(me|this|it)|replace[-_]?me|xxx+|\*+|<.*>|your[-_].*|example.*|dummy|test|"
                         r"none|null|secret|password|todo|tbd|placeholder)$", re.IGNORECASE)


@register
class CommittedSecretsFile(ProjectRule):
    """
    ## What it does
    Finds `.env` files (not `.env.example`/`.sample`/`.template`, nor the test settings
    `.env.test`/`.env.testing`) in the audited tree that give values to secret-looking
    variables (SECRET, PASSWORD, TOKEN, API_KEY, *_URL with credentials...; placeholders
    such as `changeme`, `*** REPLACE ***` or `fakefake` do not count), and reports a project that reads environment variables but ships no
    `.env.example` (info). Files ignored by .gitignore are not audited at all.

    ## Why is this bad?
    A committed `.env` puts production credentials in every clone, fork and CI log; they
    must be rotated, and git history keeps them even after deletion (seed 001 #26).

    ## Example
    ```dotenv
    JWT_SECRET=9f2c1b7e5d4a
    DATABASE_URL=postgresql://app:hunter2@db/app
    ```

    ## Use instead
    ```dotenv
    # file: .env.example
    JWT_SECRET=
    DATABASE_URL=postgresql://app:CHANGE_ME@db/app
    ```

    ## Known limitations
    prodaudit audits the files it is given and does not run git, so "tracked" means "in
    the tree and not ignored by .gitignore". Values are never printed in reports.
    """

    meta = RuleMeta(
        id="PA906", slug="committed-secrets-file", family="readiness", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, summary=".env with secret values in the tree; no .env.example",
        effort_minutes=30, cwe=(538,), owasp=("A05:2021",),
        fix="Remove the file from git (and rotate its secrets), add it to .gitignore, commit a "
            ".env.example with empty values.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        env_files = [f for f in project.discovery.files
                     if f.path.rsplit("/", 1)[-1].startswith(".env")]
        for file in env_files:
            name = file.path.rsplit("/", 1)[-1]
            if TEMPLATE.search(name):
                continue
            text = project.read_text(file.path) or ""
            secrets = []
            for number, line in enumerate(text.splitlines(), start=1):
                key, sep, value = line.strip().removeprefix("export ").partition("=")
                value = value.strip().strip("'\"")
                if not sep or key.startswith("#") or not SECRET_KEY.search(key) or PLACEHOLDER.match(value) \
                        or PLACEHOLDER_WORD.search(value):
                    continue
                if NOT_SECRET_KEY.search(key) or "${" in value:
                    continue  # not a secret setting, or a value composed from other variables
                if key.upper().endswith("_URL") and "@" not in value:
                    continue  # a URL without credentials is configuration, not a secret
                secrets.append((key.strip(), number))
            if secrets:
                keys = ", ".join(k for k, _ in secrets[:5]) + (" ..." if len(secrets) > 5 else "")
                yield self.finding(
                    f"{file.path} gives values to {len(secrets)} secret variables ({keys}) and is not "
                    f"ignored by git", Location(file.path, secrets[0][1]), anchor=f"env:{file.path}",
                    evidence=[Evidence(Location(file.path, line), f"secret value for {key}") for key, line in secrets[:5]])
