"""Expectation markers in fixture files.

`# expect: PA101` (several: `# expect: PA101, PA103`) expects the rules to report this
line; `# expect[+1]: PA401` the next line (decorators, multi-line statements);
`# todo-expect: PA101` a known miss: it must NOT be reported yet (when it is, turn it into
an `expect`). `# expect-project: PA902` expects a project-level finding (no file, line 0),
for facts about what is absent. Markers work in any text file whose comments start with '#'
or, in frontend files, '//'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"(?:#|//)\s*(?P<todo>todo-)?expect(?P<project>-project)?(?:\[(?P<offset>[+-]\d+)\])?:\s*"
                    r"(?P<ids>PA\d{3}(?:\s*,\s*PA\d{3})*)")
TEXT_SUFFIXES = {".py", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".ini", ".sh", ".conf", "",
                 ".js", ".jsx", ".ts", ".tsx", ".vue", ".svelte", ".mjs", ".cjs"}


@dataclass(frozen=True)
class Marker:
    path: str
    line: int  # the line the marker is written on
    target: int  # the line the finding is expected on
    rule_id: str
    todo: bool


def fixture_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and (
        p.suffix in TEXT_SUFFIXES or p.name.startswith(("Dockerfile", "Procfile", ".env"))))


def read_markers(root: Path) -> list[Marker]:
    markers = []
    for path in fixture_files(root):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue
        rel = path.relative_to(root).as_posix()
        for number, text in enumerate(lines, start=1):
            match = MARKER.search(text)
            if not match:
                continue
            offset = int(match.group("offset") or 0)
            for rule_id in re.split(r"\s*,\s*", match.group("ids")):
                if match.group("project"):
                    markers.append(Marker("", 0, 0, rule_id, bool(match.group("todo"))))
                else:
                    markers.append(Marker(rel, number, number + offset, rule_id, bool(match.group("todo"))))
    return markers


def with_ignore_comments(root: Path, markers: list[Marker]) -> None:
    """Rewrite the tree in place: each expect marker becomes an ignore comment on its target."""
    by_file: dict[str, list[Marker]] = {}
    for marker in markers:
        if not marker.todo and marker.path.endswith(".py"):
            by_file.setdefault(marker.path, []).append(marker)
    for rel, file_markers in by_file.items():
        path = root / rel
        lines = path.read_text(encoding="utf-8").splitlines()
        for marker in file_markers:
            lines[marker.line - 1] = MARKER.sub("", lines[marker.line - 1]).rstrip()
        for marker in file_markers:
            index = marker.target - 1
            lines[index] = lines[index].rstrip() + f"  # prodaudit: ignore[{marker.rule_id}] fixture"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
