"""Settings from [tool.prodaudit] in the audited project's pyproject.toml, or prodaudit.toml.

Unknown keys produce a warning naming the key (they are probably typos); invalid values of
known keys are usage errors (exit 2), because silently ignoring them would audit with
settings the user did not ask for.
"""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from prodaudit.errors import UsageError
from prodaudit.findings import AuditNote, Severity

DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024

# key (as written in TOML, hyphen form) -> one-line description, for docs and warnings.
KNOWN_KEYS = {
    "include": "glob patterns of files to audit (default: everything not excluded)",
    "exclude": "glob patterns to skip, in addition to .gitignore and the built-in skips",
    "select": "rule ids, slugs or id prefixes to run (default: all stable rules)",
    "disable": "rule ids, slugs or id prefixes not to run",
    "severity": "table of rule id -> severity overriding the default",
    "max-file-size": "files larger than this many bytes are skipped with a note",
    "python-version": "target Python as 'X.Y' when requires-python cannot be read",
    "fail-on": "default for --fail-on: exit 1 when a finding at or above this severity exists",
    "layers": "table of layer name -> folder globs, overriding the layers inferred from folder names (PA603)",
}


@dataclass(frozen=True)
class Config:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    python_version: str = ""
    fail_on: Severity | None = None
    source: str = ""  # where it was read from, for the methodology section
    notes: tuple[AuditNote, ...] = field(default=(), compare=False)

    def rule_enabled(self, rule_id: str, slug: str, preview: bool = False) -> bool:
        def matches(key: str) -> bool:
            key = key.strip()
            return rule_id.upper().startswith(key.upper()) or key.lower() == slug

        if any(matches(key) for key in self.disable):
            return False
        if self.select:
            return any(matches(key) for key in self.select)
        return not preview

    def severity_for(self, rule_id: str) -> Severity | None:
        for key, severity in self.severity:
            if key == rule_id:
                return severity
        return None

    def digest(self) -> str:
        """Hash of everything that changes what the summary step produces."""
        relevant = (self.select, self.disable, self.severity, self.python_version)
        return hashlib.sha256(repr(relevant).encode()).hexdigest()[:16]


def _strings(key: str, value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise UsageError(f"{where}: '{key}' must be a list of strings")


def _severity(value: object, where: str, key: str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        allowed = ", ".join(s.value for s in Severity)
        raise UsageError(f"{where}: '{key}' = {value!r} is not a severity ({allowed})") from None


def parse_table(table: dict, where: str) -> Config:
    notes: list[AuditNote] = []
    values: dict[str, object] = {}
    for raw_key, value in sorted(table.items()):
        key = raw_key.replace("_", "-")
        if key not in KNOWN_KEYS:
            notes.append(AuditNote("config", f"unknown key '{raw_key}' in {where} ignored "
                                             f"(known: {', '.join(sorted(KNOWN_KEYS))})"))
            continue
        if key in ("include", "exclude", "select", "disable"):
            values[key] = _strings(raw_key, value, where)
        elif key == "severity":
            if not isinstance(value, dict):
                raise UsageError(f"{where}: 'severity' must be a table of rule id = severity")
            values[key] = tuple(sorted((rule.upper(), _severity(sev, where, f"severity.{rule}"))
                                       for rule, sev in value.items()))
        elif key == "max-file-size":
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise UsageError(f"{where}: 'max-file-size' must be a positive integer (bytes)")
            values[key] = value
        elif key == "python-version":
            if not isinstance(value, str) or not _is_version(value):
                raise UsageError(f"{where}: 'python-version' must look like \"3.12\"")
            values[key] = value
        elif key == "fail-on":
            values[key] = _severity(value, where, "fail-on")
        elif key == "layers" and not isinstance(value, dict):
            raise UsageError(f"{where}: 'layers' must be a table of layer name = [folder globs]")
    return Config(
        include=values.get("include", ()), exclude=values.get("exclude", ()),
        select=values.get("select", ()), disable=values.get("disable", ()),
        severity=values.get("severity", ()),
        max_file_size=values.get("max-file-size", DEFAULT_MAX_FILE_SIZE),
        python_version=values.get("python-version", ""), fail_on=values.get("fail-on"),
        source=where, notes=tuple(notes),
    )


def _is_version(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 2 and all(part.isdigit() for part in parts)


def load_config(root: Path, explicit: Path | None = None) -> Config:
    """Read the config for an audit of `root` (a directory, or a file's directory)."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"config file not found: {explicit}")
        data = _read_toml(explicit, strict=True)
        table = data.get("tool", {}).get("prodaudit", data) if explicit.name == "pyproject.toml" else data
        if "tool" in table and isinstance(table.get("tool"), dict) and "prodaudit" in table["tool"]:
            table = table["tool"]["prodaudit"]
        return parse_table(table, explicit.name)
    base = root if root.is_dir() else root.parent
    own = base / "prodaudit.toml"
    if own.is_file():
        data = _read_toml(own, strict=True)
        table = data.get("tool", {}).get("prodaudit", data)
        return parse_table(table, "prodaudit.toml")
    pyproject = base / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = _read_toml(pyproject, strict=False)
        except UsageError as exc:
            return Config(notes=(AuditNote("config", f"{exc}; [tool.prodaudit] not read, defaults used",
                                           "pyproject.toml"),))
        table = data.get("tool", {}).get("prodaudit")
        if isinstance(table, dict):
            return parse_table(table, "[tool.prodaudit] in pyproject.toml")
    return Config()


def _read_toml(path: Path, strict: bool) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path.name}: invalid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name}: cannot read ({exc.__class__.__name__})") from None


def config_fields() -> list[str]:
    return [f.name for f in fields(Config)]
