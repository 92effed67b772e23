"""Find the files of an audit and classify them.

Honours .gitignore files (root and nested), skips virtualenvs, VCS and build directories,
never follows directory symlinks (no loops), and classifies every kept file as one of
source, test, migration, frontend, config, deploy. Files over the size limit and
unreadable ones are reported as notes, never as exceptions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from prodaudit.config import Config
from prodaudit.errors import UsageError
from prodaudit.findings import AuditNote

if TYPE_CHECKING:
    import pathspec

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".env", "virtualenv", ".virtualenv",
    "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".eggs", "build", "dist", "site-packages", ".idea", ".vscode",
    "htmlcov", ".cache", "bower_components", ".next", ".nuxt", ".svelte-kit",
})
PYTHON_SUFFIXES = (".py",)
FRONTEND_SUFFIXES = (".js", ".jsx", ".ts", ".tsx", ".vue", ".svelte", ".mjs", ".cjs")
DEPLOY_NAMES = re.compile(
    r"^(dockerfile(\..*)?|.*\.dockerfile|(docker-)?compose([.-].*)?\.ya?ml|procfile|"
    r"gunicorn([._-]conf(ig)?)?\.py|fly\.toml|render\.yaml|app\.json|.*\.sh|nginx.*\.conf|"
    r"supervisord?\.conf|railway\.(json|toml)|heroku\.yml)$", re.IGNORECASE)
CONFIG_NAMES = re.compile(
    r"^(pyproject\.toml|setup\.cfg|setup\.py|requirements.*\.(txt|in)|pipfile(\.lock)?|"
    r"poetry\.lock|uv\.lock|pdm\.lock|\.env.*|.*\.ini|.*\.toml|.*\.ya?ml|\.pre-commit-config\.yaml|"
    r"\.flake8|\.pylintrc|mypy\.ini|tox\.ini|makefile|alembic\.ini|\.gitignore|\.dockerignore|"
    r"package\.json)$", re.IGNORECASE)
TEST_DIRS = frozenset({"tests", "test", "testing", "__tests__"})
MIGRATION_DIRS = frozenset({"migrations", "alembic"})


@dataclass(frozen=True)
class SourceFile:
    path: str  # POSIX, relative to the audit root
    kind: str  # source, test, migration, frontend, config, deploy
    size: int

    @property
    def is_python(self) -> bool:
        return self.path.endswith(PYTHON_SUFFIXES)

    @property
    def module(self) -> str:
        """Dotted path from the audit root: backend/app/__init__.py -> backend.app."""
        parts = list(PurePosixPath(self.path).with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    @property
    def is_package(self) -> bool:
        return PurePosixPath(self.path).name == "__init__.py"


@dataclass(frozen=True)
class Discovery:
    root: Path
    files: tuple[SourceFile, ...]
    notes: tuple[AuditNote, ...]
    single_file: bool = False

    def of_kind(self, *kinds: str) -> list[SourceFile]:
        return [f for f in self.files if f.kind in kinds]


def classify(path: str) -> str | None:
    # Plain string splits, not PurePosixPath: this runs for every file of the tree.
    directories, _, name = path.rpartition("/")
    lower_parts = directories.lower().split("/") if directories else []
    if name.endswith(PYTHON_SUFFIXES):
        if DEPLOY_NAMES.match(name):
            return "deploy"
        if any(part in MIGRATION_DIRS for part in lower_parts) and (
                "versions" in lower_parts or name == "env.py" or "migrations" in lower_parts):
            return "migration"
        if (any(part in TEST_DIRS for part in lower_parts) or name.startswith("test_")
                or name.endswith("_test.py") or name == "conftest.py"):
            return "test"
        return "source"
    if name.lower().endswith(FRONTEND_SUFFIXES) and not name.endswith(".d.ts"):
        if name.lower().endswith((".min.js", ".bundle.js")):
            return None
        return "frontend"
    if DEPLOY_NAMES.match(name) or (name.lower().endswith((".yaml", ".yml")) and
                                    any(part in ("k8s", "kubernetes", "helm", "deploy", "charts")
                                        for part in lower_parts)):
        return "deploy"
    if CONFIG_NAMES.match(name) or ".github/workflows" in path or ".gitlab-ci" in name:
        return "config"
    return None


def _gitignore_spec(ignore: str) -> pathspec.PathSpec | None:
    try:
        with open(ignore, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    import pathspec  # here, not at the top: a tree without any .gitignore never needs it

    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except ValueError:
        # One malformed pattern (e.g. a trailing backslash) must not cost the others;
        # git itself ignores such lines.
        valid = []
        for line in lines:
            try:
                pathspec.GitIgnoreSpec.from_lines([line])
            except ValueError:
                continue
            valid.append(line)
        return pathspec.GitIgnoreSpec.from_lines(valid)


def discover(target: Path, config: Config) -> Discovery:
    if not target.exists():
        raise UsageError(f"path does not exist: {target}")
    if target.is_file():
        kind = classify(target.name) or ("source" if target.suffix == ".py" else None)
        if kind is None:
            raise UsageError(f"not a Python project file: {target}")
        size = target.stat().st_size
        return Discovery(target.parent.resolve(), (SourceFile(target.name, kind, size),), (), True)
    if not target.is_dir():
        raise UsageError(f"not a file or directory: {target}")
    root = target.resolve()
    notes: list[AuditNote] = []
    files: list[SourceFile] = []
    try:
        include = exclude = None
        if config.include or config.exclude:
            import pathspec

            include = pathspec.GitIgnoreSpec.from_lines(config.include) if config.include else None
            exclude = pathspec.GitIgnoreSpec.from_lines(config.exclude) if config.exclude else None
    except ValueError as exc:
        raise UsageError(f"invalid include/exclude pattern: {exc}") from None
    seen_real: set[str] = set()
    # (relative dir, spec) for every .gitignore on the way down
    ignores: list[tuple[str, pathspec.PathSpec]] = []

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        for base, spec in ignores:
            if base and not rel.startswith(base + "/"):
                continue
            sub = rel[len(base) + 1:] if base else rel
            if spec.match_file(sub + "/" if is_dir else sub):
                return True
        return bool(exclude and exclude.match_file(probe))

    def walk(directory: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            notes.append(AuditNote("skipped", f"directory not readable ({exc.strerror})", rel_dir or "."))
            entries = []
        gitignore = os.path.join(directory, ".gitignore")
        has_gitignore = any(e.name == ".gitignore" for e in entries) and os.path.isfile(gitignore)
        spec = _gitignore_spec(gitignore) if has_gitignore else None
        if spec is not None:
            ignores.append((rel_dir, spec))
        # The real path of a file that is no symlink is its directory's real path and its
        # name (we never descend into a symlinked directory): one realpath per directory.
        real_directory = os.path.realpath(directory)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                if entry.is_symlink():
                    if entry.is_dir():
                        notes.append(AuditNote("skipped", "symlinked directory not followed", rel))
                        continue
                    real = os.path.realpath(entry.path)
                    if not real.startswith(str(root) + os.sep) or not os.path.isfile(real):
                        notes.append(AuditNote("skipped", "symlink pointing outside the tree or nowhere", rel))
                        continue
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or entry.name.endswith(".egg-info") or ignored(rel, True):
                        continue
                    if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                        continue  # a virtualenv under another name
                    walk(entry.path, rel)
                    continue
                if not entry.is_file():
                    continue
                kind = classify(rel)
                if kind is None or ignored(rel, False):
                    continue
                if include is not None and not include.match_file(rel):
                    continue
                real = (os.path.realpath(entry.path) if entry.is_symlink()
                        else os.path.join(real_directory, entry.name))
                if real in seen_real:
                    continue
                seen_real.add(real)
                size = entry.stat().st_size
            except OSError as exc:
                notes.append(AuditNote("skipped", f"not readable ({exc.strerror or exc})", rel))
                continue
            if size > config.max_file_size and kind in ("source", "test", "migration", "frontend"):
                notes.append(AuditNote("skipped", f"{size} bytes, over the {config.max_file_size}-byte "
                                                  "limit (max-file-size)", rel))
                continue
            files.append(SourceFile(rel, kind, size))
        if spec is not None:
            ignores.pop()

    walk(str(root), "")
    return Discovery(root, tuple(files), tuple(notes))
