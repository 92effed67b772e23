"""Counts that describe a project, each with the method that produced it, so two runs
and two people get the same number (seed 002's "117-482 TODO/FIXME" is what happens
without one)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from prodaudit.findings import Location

CONSOLE_CALL = re.compile(r"\bconsole\.(log|warn|error|info|debug|trace|table|dir)\s*\(")
URL = re.compile(r"^(https?|wss?)://([^/:?#\s{]+)")
TODO_METHOD = ("comment tokens (never strings or docstrings) containing TODO, FIXME or HACK as a "
               "whole word in any letter case, or XXX in capitals, in .py files classified as "
               "source (tests and migrations excluded)")


@dataclass(frozen=True)
class Stat:
    key: str
    label: str
    value: int
    method: str


@dataclass(frozen=True)
class ExternalHost:
    host: str
    locations: tuple[Location, ...]


def count_test_functions(project) -> int:
    """The functions pytest would collect as tests (each parametrized case once)."""
    return sum(1 for module in project.summaries("test")
               if module.path.rsplit("/", 1)[-1] != "conftest.py"
               for fn in module.functions if _is_test_function(fn))


def _is_test_function(fn) -> bool:
    if not fn.name.startswith("test") or fn.parent:
        return False
    if fn.class_name and not fn.class_name.split(".")[-1].startswith("Test"):
        return False
    # `@pytest.fixture def test_user()`: injected into tests, never run as one.
    return not any(decorator.name.rsplit(".", 1)[-1] in ("fixture", "yield_fixture")
                   for decorator in fn.decorators)


def _python_stats(project) -> list[Stat]:
    stats: list[Stat] = []
    for kinds, label, key in ((("source",), "source", "source"), (("test",), "test", "test"),
                              (("migration",), "migration", "migration")):
        modules = project.summaries(*kinds)
        stats.append(Stat(f"{key}_files", f"{label} .py files", len(modules),
                          f".py files classified as {label} (discovery honours .gitignore, skips "
                          "virtualenvs, node_modules and build dirs)"))
        if key == "migration":
            continue
        total = sum(m.stats.total for m in modules)
        stats += [
            Stat(f"{key}_lines", f"{label} lines", total, f"physical lines of {label} .py files"),
            Stat(f"{key}_code_lines", f"{label} code lines", sum(m.stats.code for m in modules),
                 "lines that are neither blank nor start with '#' (docstrings count as code)"),
            Stat(f"{key}_comment_lines", f"{label} comment lines", sum(m.stats.comment for m in modules),
                 "lines whose first non-blank character is '#'"),
            Stat(f"{key}_blank_lines", f"{label} blank lines", sum(m.stats.blank for m in modules),
                 "lines with only whitespace"),
        ]
    stats.append(Stat("test_functions", "test functions", count_test_functions(project),
                      "functions named test* at module level or in Test* classes, in test files "
                      "other than conftest.py, pytest fixtures excepted (parametrized cases count once)"))
    sources = project.summaries("source")
    stats.append(Stat("async_functions", "async functions", sum(1 for m in sources for f in m.functions if f.is_async),
                      "`async def` in source files, nested and methods included"))
    stats.append(Stat("functions", "functions", sum(len(m.functions) for m in sources),
                      "`def` and `async def` in source files, nested and methods included"))
    handlers = Counter(e.kind for m in sources for e in m.excepts)
    for kind, text in (("bare", "`except:` with no type"),
                       ("broad", "`except Exception` / `except BaseException` (alone or in a tuple)"),
                       ("specific", "every other except clause")):
        stats.append(Stat(f"except_{kind}", f"except handlers ({kind})", handlers.get(kind, 0),
                          f"{text}, in source files"))
    tags = Counter(c.tag for m in sources for c in m.comments)
    stats.append(Stat("task_comments", "TODO/FIXME/HACK/XXX comments", sum(tags.values()), TODO_METHOD))
    for tag in ("TODO", "FIXME", "HACK", "XXX"):
        stats.append(Stat(f"task_comments_{tag.lower()}", f"{tag} comments", tags.get(tag, 0), TODO_METHOD))
    unparsed = sum(1 for m in project.summaries() if m.problem is not None)
    stats.append(Stat("unparsed_files", "Python files not parsed", unparsed,
                      "files with a syntax or decoding problem (rule PA001); not analysed"))
    return stats


def frontend_stats(project) -> list[Stat]:
    files = project.files_of_kind("frontend")
    counts: Counter[str] = Counter()
    for file in files:
        text = project.read_text(file.path) or ""
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith(("//", "*", "/*")):
                continue
            for match in CONSOLE_CALL.finditer(line):
                counts[match.group(1)] += 1
    method = ("occurrences of `console.<kind>(` in .js/.jsx/.ts/.tsx/.vue/.svelte/.mjs/.cjs files "
              "(minified bundles skipped), ignoring lines that start with //, /* or *")
    stats = [Stat("frontend_files", "frontend files", len(files),
                  "files with a JavaScript/TypeScript/Vue/Svelte extension, tests included"),
             Stat("console_calls", "console.* calls", sum(counts.values()), method)]
    for kind in sorted(counts):
        stats.append(Stat(f"console_{kind}", f"console.{kind} calls", counts[kind], method))
    return stats


def external_hosts(project) -> tuple[ExternalHost, ...]:
    """Hosts of literal http(s)/ws(s) URLs passed to calls (or as base_url=) in source."""
    found: dict[str, list[Location]] = {}
    for module in project.summaries("source"):
        for call in module.calls:
            values = list(call.args[:2]) + [v for k, v in call.keywords if k in ("url", "base_url", "endpoint")]
            for value in values:
                text = value.const if value.kind == "const" else (
                    value.items[0].const if value.kind == "fstring" and value.items and value.items[0].kind == "const" else None)
                if not isinstance(text, str):
                    continue
                match = URL.match(text)
                if match and match.group(2) not in ("localhost", "127.0.0.1", "0.0.0.0", "example.com"):
                    found.setdefault(match.group(2).lower(), []).append(Location(module.path, call.line))
    return tuple(ExternalHost(host, tuple(sorted(set(locs)))) for host, locs in sorted(found.items()))


def build_stats(project) -> tuple[Stat, ...]:
    return tuple(_python_stats(project) + frontend_stats(project))
