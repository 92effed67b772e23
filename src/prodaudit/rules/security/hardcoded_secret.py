from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Location, Severity
from prodaudit.model.extractors.security import CheckedSecret, credential_urls, mask
from prodaudit.model.security import ENV_GET, unwrap_default
from prodaudit.rules.base import BridgedRule, ProjectRule, RuleMeta, register
from prodaudit.rules.security.names import is_secret_name

STRING = re.compile(r"""(?:[rbuRBU]{0,2})(["'])(.*?)(?<!\\)\1""")
# Values that share a name with secrets but are not secrets.
NOT_SECRETS = frozenset({
    "", "bearer", "basic", "token", "password", "secret", "access", "refresh", "jwt",
    "access_token", "refresh_token", "id_token", "api_key", "apikey", "hs256", "rs256",
    "client_credentials", "authorization_code", "none", "null", "***", "****",
    # Obvious dummies (docs scripts, local tooling): nobody can log in with these.
    "test", "testing", "dummy", "fake", "example",
})
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
RUFF_NAME = re.compile(r'assigned to(?: argument| function default)?: "([^"]+)"')
# Defaults that say "replace me": the app starts and signs with a publicly known value.
PLACEHOLDERS = frozenset({
    "changeme", "change-me", "change_me", "secret", "secretkey", "secret-key", "secret_key",
    "your-secret-key", "your_secret_key", "yoursecretkey", "your-secret", "supersecret",
    "super-secret", "super_secret", "mysecret", "my-secret", "password", "pass", "passwd",
    "default", "test", "testing", "dev", "development", "xxx", "xxxx", "todo", "replaceme",
    "replace-me", "replace_me", "insecure", "example", "dummy", "fake", "admin", "root",
    "123456", "12345678", "token", "key", "apikey", "api-key", "api_key", "notsecret",
    "not-secret", "s3cr3t", "qwerty", "postgres",
})
PLACEHOLDER_WORDS = re.compile(r"change|your[-_ ]|insecure|replace|example|placeholder|dummy|"
                               r"not[-_ ]?secret|dev[-_]?secret|^x+$|^\*+$|^<.*>$|^(dev|test|local)[-_]|"
                               r"[-_](dev|test|local)$", re.IGNORECASE)
# Compose environment entries: `KEY: value`, `- KEY=value`.
COMPOSE_ENV = re.compile(r"""^\s*-?\s*["']?(?P<key>[A-Za-z_][A-Za-z0-9_]*)["']?\s*[:=]\s*"""
                         r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<plain>[^"'\s#][^\s#]*))""")
NOT_PRODUCTION_FILE = re.compile(r"(^|[./_-])(dev|develop|development|local|test|tests|ci|override|example|sample)"
                                 r"([./_-]|$)", re.IGNORECASE)
LOCAL_HOSTS = re.compile(r"^(localhost|127\.0\.0\.1|0\.0\.0\.0|db|postgres|redis|database|mysql|mongo|host\.docker\.internal)$",
                         re.IGNORECASE)


def is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in PLACEHOLDERS or bool(PLACEHOLDER_WORDS.search(lowered))


def is_real_secret_value(value: str) -> bool:
    """A literal that may be a secret: not empty, not a type name, not an env var name, not
    a template."""
    stripped = value.strip()
    return bool(stripped) and stripped.lower() not in NOT_SECRETS and not ENV_NAME.match(stripped) \
        and "${" not in stripped and "{" not in stripped


@register
class HardcodedSecret(BridgedRule, ProjectRule):
    """
    ## What it does
    Finds secrets written in the code: passwords, keys and tokens assigned to secret-looking
    names or passed as `password=` (ruff S105-S107, with token type names, environment
    variable names and empty strings filtered out); credentials inside connection URLs
    (`postgresql://user:password@host`, `redis://:pass@host`) in code and production
    compose files; and secret settings (pydantic `BaseSettings` fields, `os.getenv`
    defaults) whose default is a literal such as "changeme" with no validator on the field.

    ## Why is this bad?
    Whoever can read the repository (every developer, CI, a leaked backup) has the
    secret, and it is the same in every environment. A placeholder default is worse: the
    service starts and signs tokens with a publicly known key whenever the variable is
    missing, and nothing tells you.

    ## Example
    ```python
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        jwt_secret: str = "changeme"
    ```

    ## Use instead
    ```python
    from pydantic_settings import BaseSettings


    class Settings(BaseSettings):
        jwt_secret: str  # required: the app refuses to start without it
    ```

    ## Known limitations
    Secrets under names that do not look secret are missed. A placeholder rejected at
    startup by code outside the settings class is recognised only when that code repeats
    the placeholder literal. Compose files whose name says dev, local, test, CI or
    override are not read.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA404", slug="hardcoded-secret", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="secret, password or key written in the code, a connection URL or a settings default",
        effort_minutes=15, cwe=(798, 1188), owasp=("A07:2021", "A05:2021"),
        ruff_codes=("S105", "S106", "S107"), file_kinds=("source",),
        fix="Read secrets from the environment or a secret store; fail at startup when missing.",
    )

    @classmethod
    def accepts(cls, code: str, message: str, path: str, line_text: str, module) -> bool:
        named = RUFF_NAME.search(message)
        if named and not is_secret_name(named.group(1), allow_hashed=True):
            return False  # TOKEN_BUCKET, password_reset_url: the name only contains a secret word
        if module is not None and any(c.line_text == line_text for c in module.facts_of(CheckedSecret)):
            return False  # a validator or startup check rejects this default
        values = [m.group(2) for m in STRING.finditer(line_text)]
        if not values:
            return True  # multi-line statement: trust ruff
        name = named.group(1).lower() if named else ""
        return any(value.strip().lower() not in NOT_SECRETS and not ENV_NAME.match(value)
                   and not _label_of(name, value) for value in values)

    @classmethod
    def accepts_in_project(cls, project, code: str, path: str, line: int) -> bool:
        """Enum members (`access_token = "myapp_access_token"` in a StrEnum) name kinds of
        tokens; their values are labels."""
        module = project.modules.get(path)
        if module is None:
            return True
        return not any(fact.line <= line <= fact.end_line and any(
            base.name.rsplit(".", 1)[-1].endswith("Enum") for base in fact.bases)
            for fact in module.classes)

    def check_project(self, project) -> Iterator[Finding]:
        yield from self.settings_defaults(project)
        yield from self.env_defaults(project)
        yield from self.urls_in_code(project)
        yield from self.compose_files(project)

    # -- settings ----------------------------------------------------------------------
    def settings_defaults(self, project) -> Iterator[Finding]:
        security = project.security
        for field in security.settings_fields:
            name = field.fact.target
            default = field.default
            if not is_secret_name(name) or default is None or default.kind != "const" or \
                    not isinstance(default.const, str) or not is_real_secret_value(default.const):
                continue
            if security.field_validated(field) or self.checked_elsewhere(project, default.const, name, field.module.path,
                                                                         field.fact.line):
                continue
            yield self.secret_default(f"{field.cls.name}.{name}", default.const,
                                      Location(field.module.path, field.fact.line),
                                      f"{field.module.module}:{field.cls.qualname}.{name}", env_read=field.env_default)

    def env_defaults(self, project) -> Iterator[Finding]:
        """`SECRET_KEY = os.getenv("SECRET_KEY", "dev-secret")` at module or class level."""
        settings_lines = {(f.module.path, f.fact.line) for f in project.security.settings_fields}
        for module in project.summaries("source"):
            for fact in module.assignments:
                value = fact.value
                if value is None or value.kind != "call" or value.name not in ENV_GET:
                    continue
                if "." in fact.target or (module.path, fact.line) in settings_lines:
                    continue
                if fact.scope and module.function(fact.scope) is not None:
                    continue  # a local inside a function: rare, and often a test helper
                default, _ = unwrap_default(value)
                if default is None or default.kind != "const" or not isinstance(default.const, str):
                    continue
                if not is_secret_name(fact.target) or not is_real_secret_value(default.const):
                    continue
                if self.checked_elsewhere(project, default.const, fact.target, module.path, fact.line):
                    continue
                owner = f"{fact.scope}." if fact.scope else ""
                yield self.secret_default(f"{owner}{fact.target}", default.const, Location(module.path, fact.line),
                                          f"{module.module}:{owner}{fact.target}", env_read=True)

    def secret_default(self, name: str, value: str, where: Location, anchor: str, env_read: bool) -> Finding:
        if is_placeholder(value):
            message = (f"Secret setting `{name}` defaults to the placeholder {value!r} and nothing "
                       f"validates it: when the variable is missing, the app runs with a publicly known secret")
        else:
            message = (f"Secret setting `{name}` has a literal default {_preview(value)}: every environment "
                       f"without the variable shares a key that anyone with the repository can read")
        fix = ("Read the variable without a default (os.environ['NAME'] fails at startup when it is "
               "missing)." if env_read else
               "Remove the default so the app refuses to start without the variable (or validate it at "
               "startup).")
        return self.finding(message, where, anchor=anchor, severity=Severity.HIGH, fix=fix)

    @staticmethod
    def checked_elsewhere(project, literal: str, name: str, path: str, line: int) -> bool:
        """The placeholder appears on another source line next to the setting's name: a
        startup check compares with it (`if settings.secret_key == "changeme": raise`)."""
        quoted = (f'"{literal}"', f"'{literal}'")
        word = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE)
        for module in project.summaries("source"):
            text = project.read_text(module.path)
            if text is None or not any(q in text for q in quoted):
                continue
            for number, content in enumerate(text.splitlines(), start=1):
                if (module.path, number) != (path, line) and any(q in content for q in quoted) and \
                        word.search(content) and re.search(r"(==|!=|\bin\b|startswith|raise|assert)", content):
                    return True
        return False

    # -- connection URLs -----------------------------------------------------------------
    def urls_in_code(self, project) -> Iterator[Finding]:
        for module, fact in project.security.credential_urls():
            local = bool(LOCAL_HOSTS.match(fact.host))
            severity = Severity.LOW if fact.placeholder and local else Severity.MEDIUM
            yield self.finding(
                f"Connection URL {fact.masked} carries a password in the code: it is shared by every "
                f"environment that does not override it and readable by anyone with the repository",
                Location(module.path, fact.line), severity=severity,
                anchor=f"{module.module}:{fact.scope}:{fact.masked}",
                fix="Build the URL from settings read from the environment (user and password in "
                    "separate variables, no literal default).")

    def compose_files(self, project) -> Iterator[Finding]:
        for file in project.files_of_kind("deploy"):
            name = file.path.rsplit("/", 1)[-1].lower()
            if "compose" not in name or not name.endswith((".yml", ".yaml")) or NOT_PRODUCTION_FILE.search(name):
                continue
            text = project.read_text(file.path)
            if text is None:
                continue
            for number, line in enumerate(text.splitlines(), start=1):
                stripped = re.sub(r"(^|\s)#.*$", "", line)
                urls = list(credential_urls(stripped))
                for match in urls:
                    yield self.finding(
                        f"Connection URL {mask(match)} in {file.path} carries a literal password: use "
                        f"${{VARIABLE}} substitution from an untracked .env or a secret",
                        Location(file.path, number), severity=Severity.MEDIUM,
                        anchor=f"{file.path}:{mask(match)}")
                if urls:
                    continue
                env = COMPOSE_ENV.match(stripped)
                if env is None:
                    continue
                key = env.group("key")
                value = next((v for v in (env.group("dq"), env.group("sq"), env.group("plain")) if v is not None), "")
                if not is_secret_name(key) or not value or "$" in value or ENV_NAME.match(value):
                    continue
                weak = is_placeholder(value) or len(value) < 8
                yield self.finding(
                    f"{key} is set to the literal {_preview(value) if not weak else repr(value)} in {file.path}: "
                    f"the credential is in the repository and the same in every deployment of this file",
                    Location(file.path, number), severity=Severity.LOW if weak else Severity.MEDIUM,
                    anchor=f"{file.path}:{key}",
                    fix="Use ${VARIABLE} substitution from an untracked .env file or Docker secrets.")


def _preview(value: str) -> str:
    return repr(value if len(value) <= 6 else value[:3] + "...")


def _label_of(name: str, value: str) -> bool:
    """A text, not a credential: words separated by spaces ("You posted a token, go revoke
    it"), or a value that spells its own name (`access_token = "access_token"`). A value
    merely containing the name (`SECRET_KEY = "secret_key_dev"`) is still a default secret."""
    text = value.strip()
    return " " in text or (bool(name) and text.lower() == name)
