"""Run ruff once per audit and turn its diagnostics into findings of our bridged rules.

ruff runs with --isolated (the project's own ruff settings must not change our results),
--no-cache (it must never write .ruff_cache into the audited tree) and --ignore-noqa: a
`# noqa` is honoured by our suppression step instead, so those findings are listed as
suppressed rather than vanishing. Results are cached per file like module summaries, so a
warm run only lints changed files. It starts as a subprocess before the summary step and
is collected after it, so the two overlap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from prodaudit.cache import Cache
from prodaudit.findings import Finding, Location
from prodaudit.rules.base import BridgedRule

CHUNK = 2000  # files per ruff invocation, to stay far below command-line limits


@dataclass(frozen=True)
class RuffDiagnostic:
    code: str
    message: str
    line: int
    column: int
    end_line: int
    end_column: int


@cache
def ruff_binary() -> str | None:
    try:
        from ruff.__main__ import find_ruff_bin

        return os.fsdecode(find_ruff_bin())
    except Exception:  # noqa: BLE001 - not installed as a package, or an unexpected layout
        return shutil.which("ruff")


@cache
def ruff_version() -> str:
    binary = ruff_binary()
    if not binary:
        return ""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def target_version(requires_python: str) -> str:
    """'>=3.11' -> 'py311'; the oldest version the project supports decides UP rules."""
    match = re.search(r"3\.(\d+)", requires_python or "")
    minor = int(match.group(1)) if match else 8
    minor = min(max(minor, 7), 14)
    return f"py3{minor}"


class RuffBridge:
    def __init__(self, rules: Sequence[type[BridgedRule]], root: Path, cache: Cache,
                 requires_python: str):
        self.rules = list(rules)
        self.root = root
        self.cache = cache
        self.target = target_version(requires_python)
        self.code_to_rule: dict[str, type[BridgedRule]] = {}
        for rule in self.rules:
            for code in rule.meta.ruff_codes:
                self.code_to_rule[code] = rule
        self.codes = sorted(self.code_to_rule)
        self.problem = ""
        self._procs: list[tuple[list[str], subprocess.Popen]] = []
        self._cached: dict[str, list[RuffDiagnostic]] = {}
        self._keys: dict[str, str] = {}

    def settings(self) -> list[str]:
        """ruff options the bridged rules ask for, as --config overrides."""
        options = []
        for rule in self.rules:
            for setting in rule.ruff_settings:
                options += ["--config", setting]
        return options

    def _key(self, path: str, digest: str) -> str:
        return self.cache.key("ruff", ruff_version(), self.target, ",".join(self.codes),
                              " ".join(self.settings()), path, digest)

    def start(self, files: dict[str, str]) -> None:
        """Start ruff on the files whose results are not cached. files: path -> digest."""
        if not self.codes or not files:
            return
        binary = ruff_binary()
        if binary is None:
            self.problem = "ruff is not installed: bridged rules did not run"
            return
        todo = []
        for path, digest in sorted(files.items()):
            key = self._key(path, digest)
            self._keys[path] = key
            hit = self.cache.get(key)
            if hit is not None:
                self._cached[path] = hit
            else:
                todo.append(path)
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            command = [binary, "check", "--isolated", "--no-cache", "--ignore-noqa",
                       "--exit-zero", "--output-format", "json", "--target-version", self.target,
                       "--select", ",".join(self.codes), *self.settings(), "--", *chunk]
            try:
                proc = subprocess.Popen(command, cwd=self.root, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            except OSError as exc:
                self.problem = f"ruff could not start ({exc.strerror or exc}): bridged rules did not run"
                return
            self._procs.append((chunk, proc))

    def collect(self) -> dict[str, list[RuffDiagnostic]]:
        """Wait for ruff; path -> diagnostics (cached and fresh)."""
        results = dict(self._cached)
        for chunk, proc in self._procs:
            try:
                stdout, stderr = proc.communicate(timeout=600)
            except subprocess.TimeoutExpired:
                proc.kill()
                self.problem = "ruff timed out after 600 s: bridged rules incomplete"
                continue
            try:
                if proc.returncode != 0:
                    raise ValueError(stderr)
                raw = json.loads(stdout or "[]")
            except (json.JSONDecodeError, ValueError):
                lines = [line.strip() for line in (stderr or stdout or "").splitlines() if line.strip()]
                reason = " ".join(lines[:2]) or f"exit code {proc.returncode}"
                self.problem = f"ruff failed ({reason}): bridged rules did not run"
                continue
            fresh: dict[str, list[RuffDiagnostic]] = {path: [] for path in chunk}
            for item in raw:
                code = item.get("code")
                if not code:
                    continue  # syntax errors: our PA001 reports those
                path = Path(item["filename"]).resolve().relative_to(self.root).as_posix() \
                    if os.path.isabs(item["filename"]) else item["filename"]
                loc, end = item.get("location") or {}, item.get("end_location") or {}
                fresh.setdefault(path, []).append(RuffDiagnostic(
                    code, item.get("message", ""), loc.get("row", 0), loc.get("column", 0),
                    end.get("row", 0), end.get("column", 0)))
            for path, diagnostics in fresh.items():
                if path in self._keys:
                    self.cache.put(self._keys[path], diagnostics)
                results[path] = diagnostics
        return results

    def findings(self, results: dict[str, list[RuffDiagnostic]], kinds: dict[str, str],
                 line_of: Callable[[str, int], str], modules: dict, project=None) -> list[Finding]:
        out = []
        for path, diagnostics in sorted(results.items()):
            for diag in diagnostics:
                rule = self.code_to_rule.get(diag.code)
                if rule is None:
                    continue
                # Not every bridged rule looks at every kind of file (print in tests is fine).
                if kinds.get(path) not in rule.meta.file_kinds:
                    continue
                if not rule.accepts(diag.code, diag.message, path, line_of(path, diag.line),
                                    modules.get(path)):
                    continue
                if project is not None and not rule.accepts_in_project(project, diag.code, path, diag.line):
                    continue
                severity = rule.severity_by_code.get(diag.code, rule.meta.severity)
                out.append(Finding(
                    rule_id=rule.meta.id,
                    message=f"{diag.message} [ruff {diag.code}]",
                    location=Location(path, diag.line, diag.column, diag.end_line, diag.end_column),
                    severity=severity, confidence=rule.meta.confidence,
                    fix=rule.meta.fix,
                    anchor=diag.code, source=f"ruff:{diag.code}",
                ))
        return out
