"""Declared dependencies: what the project asks for, how tightly, and whether it is locked.

Read from pyproject.toml (PEP 621, PEP 735 dependency groups, Poetry, uv and PDM dev
groups), requirements files (following -r includes), setup.cfg and Pipfile. Local path
dependencies (`-e .`, `{path = ...}`) are code in the same tree and are left out. A small
version-specifier reader stands in for `packaging`, which is not a runtime dependency:
only the operators matter here, never version ordering.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prodaudit.findings import Location
from prodaudit.model.textfiles import read_project_text

MAX_FILE_BYTES = 1_000_000
LOCK_FILE_NAMES = ("poetry.lock", "uv.lock", "Pipfile.lock", "pdm.lock", "pylock.toml")
# Requirements files with these words in their name are development-only.
_DEV_WORDS = re.compile(r"dev|test|lint|docs?|ci|local|typing|check", re.IGNORECASE)
_OPERATOR = re.compile(r"^(===|==|~=|!=|<=|>=|<|>|\^|~|=)?\s*(.*)$")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_REQUIREMENT = re.compile(r"\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*"
                          r"(?:\[(?P<extras>[^\]]*)\])?\s*(?P<rest>.*)", re.DOTALL)
_URL = re.compile(r"^(?:[a-z0-9+]+://|git\+|hg\+|svn\+|bzr\+|file:)", re.IGNORECASE)
_SHA = re.compile(r"@([0-9a-f]{7,40}|v?\d[\w.]*)(?:#|$)")


@dataclass(frozen=True)
class Dependency:
    name: str  # PEP 503 normalized: lower case, runs of -_. become -
    spec: str  # the version constraint (or direct URL) as written; "" when there is none
    status: str  # "pinned", "ranged" (has an upper bound) or "unbounded"
    group: str  # "main", "dev", or the extra / group name
    location: Location
    extras: tuple[str, ...] = ()
    marker: str = ""


@dataclass(frozen=True)
class DependencyReport:
    dependencies: tuple[Dependency, ...] = ()
    # Lock files, plus requirements files in which every entry is pinned with == / ===
    # (they fix every version just like a lock does, hashes or not).
    lock_files: tuple[str, ...] = ()
    requires_python: str | None = None
    requires_python_location: Location | None = None
    notes: tuple[str, ...] = ()

    def named(self, name: str) -> tuple[Dependency, ...]:
        wanted = normalize_name(name)
        return tuple(dep for dep in self.dependencies if dep.name == wanted)

    def names(self, group: str | None = None) -> frozenset[str]:
        return frozenset(dep.name for dep in self.dependencies
                         if group is None or dep.group == group)


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# -- version specifiers ----------------------------------------------------------------

def classify_spec(spec: str, poetry: bool = False) -> str:
    """pinned / ranged / unbounded for a specifier set (PEP 440, or Poetry's dialect).

    Poetry's bare "1.2.3" is an exact pin; "^" and "~" have upper bounds. Alternatives
    joined by "||" are only as tight as the loosest of them.
    """
    alternatives = [part for part in spec.split("||") if part.strip()] or [""]
    statuses = {_classify_one(part, poetry) for part in alternatives}
    for status in ("unbounded", "ranged", "pinned"):
        if status in statuses:
            return status
    return "unbounded"


def _classify_one(spec: str, poetry: bool) -> str:
    # ">= 1.2" is allowed; join operators to their versions before splitting clauses.
    spec = re.sub(r"(===|==|~=|!=|<=|>=|<|>|\^|~|=)\s+", r"\1", spec.strip())
    clauses = [clause for clause in re.split(r"[,\s]+", spec) if clause]
    bounded = False
    for clause in clauses:
        operator, version = _OPERATOR.match(clause).groups()
        operator = operator or ("==" if poetry and version not in ("*", "") else "")
        if operator in ("==", "===", "=") and version.endswith(".*"):
            bounded = True  # ==1.2.* allows 1.2.x only
        elif operator in ("==", "===", "=") and version:
            return "pinned"
        elif operator in ("<", "<=", "~=", "^", "~"):
            bounded = True
    return "ranged" if bounded else "unbounded"


def python_floor(requires_python: str | None) -> tuple[int, int] | None:
    """Lowest (major, minor) Python a constraint admits: ">=3.11" -> (3, 11)."""
    if not requires_python:
        return None
    floors = []
    for alternative in requires_python.split("||"):
        floor = _floor_of(alternative)
        if floor is None:
            return None  # an alternative without a floor admits any old Python
        floors.append(floor)
    return min(floors) if floors else None


def _floor_of(spec: str) -> tuple[int, int] | None:
    spec = re.sub(r"(===|==|~=|!=|<=|>=|<|>|\^|~|=)\s+", r"\1", spec.strip())
    found = []
    for clause in (c for c in re.split(r"[,\s]+", spec) if c):
        operator, version = _OPERATOR.match(clause).groups()
        match = re.match(r"(\d+)(?:\.(\d+))?", version)
        if not match or operator in ("<", "<=", "!="):
            continue
        # A bare "3.11" (Pipfile python_version, Poetry exact) is a floor too.
        found.append((int(match[1]), int(match[2] or 0)))
    return max(found) if found else None


# -- PEP 508 requirement strings -------------------------------------------------------

@dataclass(frozen=True)
class _Parsed:
    name: str
    spec: str
    status: str
    extras: tuple[str, ...] = ()
    marker: str = ""


def parse_requirement(text: str) -> _Parsed | None:
    """One PEP 508 string ("name[extra] >=1,<2 ; marker", "name @ url"), or a bare URL."""
    text = text.strip()
    if not text:
        return None
    if _URL.match(text) or text.startswith((".", "/")):
        return _direct_reference(text)
    match = _REQUIREMENT.fullmatch(text)
    if match is None:
        return None
    rest = match["rest"].strip()
    marker = ""
    if ";" in rest:
        rest, _, marker = rest.partition(";")
        rest, marker = rest.strip(), marker.strip()
    extras = tuple(e.strip() for e in (match["extras"] or "").split(",") if e.strip())
    if rest.startswith("@"):
        url = rest[1:].strip()
        return _Parsed(normalize_name(match["name"]), url, _url_status(url), extras, marker)
    spec = rest[1:-1].strip() if rest.startswith("(") and rest.endswith(")") else rest
    if spec and not re.match(r"(===|==|~=|!=|<=|>=|<|>)", spec):
        return None  # not a requirement ("foo bar", stray text)
    return _Parsed(normalize_name(match["name"]), spec, classify_spec(spec), extras, marker)


def _direct_reference(text: str) -> _Parsed | None:
    """A bare URL or path: the name comes from #egg= or from a wheel / sdist file name."""
    egg = re.search(r"[#&]egg=([A-Za-z0-9._-]+)", text)
    filename = text.split("#")[0].rstrip("/").rsplit("/", 1)[-1]
    if egg:
        name = egg[1]
    elif filename.endswith(".whl") or re.search(r"-\d[\w.]*\.(tar\.gz|zip)$", filename):
        name = filename.split("-")[0]
    else:
        return None  # a local path or URL that names no package
    return _Parsed(normalize_name(name), text, _url_status(text))


def _url_status(url: str) -> str:
    """A wheel/sdist file, a hash, or a VCS commit or tag fixes the code; a branch does not."""
    if re.search(r"\.whl(?:#|$)|-\d[\w.]*\.(tar\.gz|zip)(?:#|$)|#sha256=", url):
        return "pinned"
    if _URL.match(url) and "+" in url.split("://")[0] and _SHA.search(url.split("://", 1)[-1]):
        return "pinned"
    return "unbounded"


# -- reading files ---------------------------------------------------------------------

class _Lines:
    """Line lookups in a file whose parser (tomllib) does not report positions."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def find(self, pattern: str, start: int = 0) -> int:
        """1-based line of the first match at or after 0-based `start`; 0 if none."""
        regex = re.compile(pattern)
        for index in range(max(start, 0), len(self.lines)):
            if regex.search(self.lines[index]):
                return index + 1
        return 0

    def table(self, name: str) -> int:
        dotted = r"\.".join(rf'(?:{re.escape(part)}|"{re.escape(part)}")'
                            for part in name.split("."))
        return self.find(rf"^\s*\[\s*{dotted}\s*\]")

    def key(self, key: str, start: int) -> int:
        return self.find(rf'^\s*["\']?{re.escape(key)}["\']?\s*=', start)

    def item(self, text: str, start: int) -> int:
        return self.find(rf'["\']{re.escape(text)}["\']', start)


class _Collector:
    def __init__(self, root: Path, files: Sequence[str]):
        self.root = root
        self.file_set = frozenset(files)
        self.files = tuple(dict.fromkeys(files))
        self.dependencies: list[Dependency] = []
        self.notes: list[str] = []
        self.locks: list[str] = []
        self.python: tuple[str, Location] | None = None
        self._read_requirements: set[str] = set()

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def text(self, path: str) -> str | None:
        text, problem = read_project_text(self.root, path, MAX_FILE_BYTES)
        if problem:
            self.note(problem)
        return text

    def toml(self, path: str) -> tuple[dict, _Lines] | None:
        text = self.text(path)
        if text is None:
            return None
        try:
            return tomllib.loads(text), _Lines(text)
        except tomllib.TOMLDecodeError as exc:
            self.note(f"{path}: not valid TOML ({exc}); not read")
            return None

    def add(self, parsed: _Parsed, group: str, location: Location) -> None:
        self.dependencies.append(Dependency(parsed.name, parsed.spec, parsed.status, group,
                                            location, parsed.extras, parsed.marker))

    def set_python(self, spec: object, location: Location) -> None:
        if self.python is None and isinstance(spec, str) and spec.strip():
            self.python = (spec.strip(), location)

    # -- pyproject.toml ----------------------------------------------------------------
    def pyproject(self, path: str) -> None:
        loaded = self.toml(path)
        if loaded is None:
            return
        data, lines = loaded
        project = _table(data, "project")
        start = lines.table("project")
        if "requires-python" in project:
            self.set_python(project["requires-python"],
                            Location(path, lines.key("requires-python", start)))
        self.pep508_list(path, lines, project.get("dependencies"), "main",
                         lines.key("dependencies", start))
        extras_start = lines.table("project.optional-dependencies") or start
        for extra, items in _table(project, "optional-dependencies").items():
            self.pep508_list(path, lines, items, extra, lines.key(extra, extras_start))
        groups_start = lines.table("dependency-groups")
        for group, items in _table(data, "dependency-groups").items():
            self.pep508_list(path, lines, items, group, lines.key(group, groups_start))
        tool = _table(data, "tool")
        uv_dev = _table(tool, "uv").get("dev-dependencies")
        self.pep508_list(path, lines, uv_dev, "dev", lines.key("dev-dependencies",
                                                               lines.table("tool.uv")))
        pdm_start = lines.table("tool.pdm.dev-dependencies")
        for group, items in _table(_table(tool, "pdm"), "dev-dependencies").items():
            self.pep508_list(path, lines, items, group, lines.key(group, pdm_start))
        self.poetry(path, lines, _table(tool, "poetry"))

    def pep508_list(self, path: str, lines: _Lines, items: object, group: str,
                    key_line: int) -> None:
        if items is None:
            return
        if not isinstance(items, list):
            self.note(f"{path}: {group} dependencies are not a list; not read")
            return
        for item in items:
            if isinstance(item, dict):
                continue  # {include-group = "..."}: that group is read on its own
            parsed = parse_requirement(item) if isinstance(item, str) else None
            if parsed is None:
                self.note(f"{path}: could not read requirement {item!r}")
                continue
            line = lines.item(item, key_line - 1 if key_line else 0) or key_line
            self.add(parsed, group, Location(path, line))

    def poetry(self, path: str, lines: _Lines, poetry: dict) -> None:
        extras_of: dict[str, str] = {}
        for extra, names in _table(poetry, "extras").items():
            for name in names if isinstance(names, list) else ():
                extras_of.setdefault(normalize_name(str(name)), extra)
        tables = [("main", "tool.poetry.dependencies", _table(poetry, "dependencies")),
                  ("dev", "tool.poetry.dev-dependencies", _table(poetry, "dev-dependencies"))]
        for group, body in _table(poetry, "group").items():
            tables.append((group, f"tool.poetry.group.{group}.dependencies",
                           _table(body if isinstance(body, dict) else {}, "dependencies")))
        for group, table_name, table in tables:
            start = lines.table(table_name)
            for name, value in table.items():
                where = Location(path, lines.key(name, start) or start)
                if normalize_name(name) == "python":
                    self.set_python(value, where)
                    continue
                for constraint in value if isinstance(value, list) else [value]:
                    if _is_local(constraint):
                        continue
                    parsed = _poetry_constraint(name, constraint)
                    if parsed is None:
                        self.note(f"{path}: could not read poetry dependency {name}")
                        continue
                    optional = isinstance(constraint, dict) and constraint.get("optional")
                    chosen = extras_of.get(parsed.name, group) if optional else group
                    self.add(parsed, chosen, where)

    # -- requirements files ------------------------------------------------------------
    def requirements(self, path: str, depth: int = 0) -> None:
        if path in self._read_requirements or depth > 10:
            return
        self._read_requirements.add(path)
        text = self.text(path)
        if text is None:
            return
        group = _requirements_group(path)
        entries = 0
        pinned = True
        for number, line in _requirement_lines(text):
            words = line.split()
            if words[0] in ("-r", "--requirement", "-c", "--constraint") or \
                    re.match(r"(-r|--requirement=)\S", words[0]):
                reference = (words[1] if len(words) > 1 else "") if words[0] in (
                    "-r", "--requirement", "-c", "--constraint") else \
                    re.sub(r"^(-r|--requirement=)", "", words[0])
                if words[0] in ("-c", "--constraint") or "$" in reference or not reference:
                    continue  # constraint files add no dependencies
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path),
                                                           reference))
                if posixpath.isabs(reference) or target == ".." or target.startswith("../"):
                    self.note(f"{path}: -r {reference} is outside the audited tree")
                else:
                    self.requirements(target, depth + 1)
                continue
            editable = words[0] in ("-e", "--editable")
            if editable:
                line = line.split(None, 1)[1] if len(words) > 1 else ""
            elif words[0].startswith("-"):
                continue  # --index-url, --hash on its own line, -f, --pre ...
            requirement = re.split(r"\s+--?[A-Za-z]", line, maxsplit=1)[0].strip()
            if requirement in (".", "./") or (editable and not _URL.match(requirement)
                                              and "#egg=" not in requirement):
                continue  # the project itself or a local checkout: not a pinned package
            parsed = parse_requirement(requirement)
            if parsed is None:
                self.note(f"{path}:{number}: could not read requirement {requirement!r}")
                continue
            entries += 1
            pinned = pinned and parsed.status == "pinned"
            self.add(parsed, group, Location(path, number))
        if entries and pinned:
            self.locks.append(path)

    # -- setup.cfg and Pipfile ---------------------------------------------------------
    def setup_cfg(self, path: str) -> None:
        text = self.text(path)
        if text is None:
            return
        for section, key, number, value in _ini_values(text):
            if section == "options" and key == "python_requires":
                self.set_python(value, Location(path, number))
            elif (section == "options" and key == "install_requires") or \
                    section == "options.extras_require":
                group = "main" if section == "options" else key
                parsed = parse_requirement(value)
                if parsed is None:
                    self.note(f"{path}:{number}: could not read requirement {value!r}")
                else:
                    self.add(parsed, group, Location(path, number))

    def pipfile(self, path: str) -> None:
        loaded = self.toml(path)
        if loaded is None:
            return
        data, lines = loaded
        requires = _table(data, "requires")
        for key in ("python_full_version", "python_version"):
            if key in requires:
                self.set_python(str(requires[key]),
                                Location(path, lines.key(key, lines.table("requires"))))
                break
        for table, group in (("packages", "main"), ("dev-packages", "dev")):
            start = lines.table(table)
            for name, value in _table(data, table).items():
                if _is_local(value):
                    continue
                parsed = _pipfile_constraint(name, value)
                where = Location(path, lines.key(name, start) or start)
                if parsed is None:
                    self.note(f"{path}: could not read Pipfile entry {name}")
                else:
                    self.add(parsed, group, where)


def _table(data: object, key: str) -> dict:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _poetry_constraint(name: str, value: object) -> _Parsed | None:
    normalized = normalize_name(name)
    if isinstance(value, str):
        return _Parsed(normalized, value, classify_spec(value, poetry=True))
    if not isinstance(value, dict):
        return None
    extras = tuple(str(e) for e in value.get("extras", ()) if isinstance(e, str))
    marker = str(value.get("markers", ""))
    if isinstance(value.get("version"), str):
        spec = value["version"]
        return _Parsed(normalized, spec, classify_spec(spec, poetry=True), extras, marker)
    if "git" in value:
        ref = value.get("rev") or value.get("tag")
        spec = f"git {value['git']}" + (f" @ {ref}" if ref else (
            f" branch {value['branch']}" if value.get("branch") else ""))
        return _Parsed(normalized, spec, "pinned" if ref else "unbounded", extras, marker)
    if "url" in value:
        return _Parsed(normalized, str(value["url"]), _url_status(str(value["url"])), extras,
                       marker)
    return _Parsed(normalized, "", "unbounded", extras, marker)


def _is_local(value: object) -> bool:
    """A path dependency is code in the same tree, not a third-party version to bound."""
    return isinstance(value, dict) and "path" in value


def _pipfile_constraint(name: str, value: object) -> _Parsed | None:
    if isinstance(value, dict) and "version" not in value:
        return _poetry_constraint(name, {**value, "rev": value.get("ref")})
    spec = value.get("version") if isinstance(value, dict) else value
    if not isinstance(spec, str):
        return None
    return _Parsed(normalize_name(name), spec, classify_spec(spec))


def _requirements_group(path: str) -> str:
    name = posixpath.basename(path).rsplit(".", 1)[0]
    stem = name.removeprefix("requirements")
    return "dev" if _DEV_WORDS.search(stem) else "main"


def _requirement_lines(text: str) -> list[tuple[int, str]]:
    """Non-empty logical lines without comments; `\\` joins lines as pip does."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s)#.*$", "", raw)  # pip: a comment starts at " #" or line start
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append((start, line))
    if pending.strip():
        out.append((start, pending.strip()))
    return out


def _ini_values(text: str) -> list[tuple[str, str, int, str]]:
    """(section, key, line, item) for every item of every key; multi-line values split."""
    out = []
    section, key = "", ""
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if raw[:1].isspace() and key:
            out.append((section, key, number, stripped))
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section, key = stripped[1:-1].strip(), ""
            continue
        name, sep, value = stripped.partition("=")
        if not sep:
            name, sep, value = stripped.partition(":")
        key = name.strip() if sep else ""
        if sep and value.strip():
            out.append((section, key, number, value.strip()))
    return out


def _is_requirements(path: str) -> bool:
    name = posixpath.basename(path)
    if not name.endswith((".txt", ".in")):
        return False
    return name.startswith("requirements") or posixpath.basename(
        posixpath.dirname(path)) == "requirements"


def read_dependencies(root: Path, files: Sequence[str]) -> DependencyReport:
    """Dependencies declared in the files discovery found (POSIX paths relative to root).

    Lock files are looked for in `files` and, since discovery may skip them as data, by
    name at the root as well (existence only; they are not read).
    """
    collector = _Collector(root, files)
    for path in collector.files:
        name = posixpath.basename(path)
        try:
            if name == "pyproject.toml":
                collector.pyproject(path)
            elif _is_requirements(path):
                collector.requirements(path)
            elif name == "setup.cfg":
                collector.setup_cfg(path)
            elif name == "Pipfile":
                collector.pipfile(path)
        except Exception as exc:  # noqa: BLE001 - one odd file costs a note, not the audit
            collector.note(f"{path}: could not be analysed ({type(exc).__name__}: {exc})")
    locks = [path for path in collector.files if posixpath.basename(path) in LOCK_FILE_NAMES
             or re.fullmatch(r"pylock\.[\w-]+\.toml", posixpath.basename(path))]
    for name in LOCK_FILE_NAMES:
        if name not in locks and (root / name).is_file():
            locks.append(name)
    python = collector.python
    return DependencyReport(tuple(collector.dependencies),
                            tuple(dict.fromkeys([*locks, *collector.locks])),
                            python[0] if python else None, python[1] if python else None,
                            tuple(collector.notes))
