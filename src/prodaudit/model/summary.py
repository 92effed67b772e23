"""The summary step: one file in, one picklable ModuleSummary out (the cache unit).

It reads and decodes the file, parses it, records the generic facts, scans comments for
task tags and suppressions, and runs the file rules, whose findings are cached with the
summary. Nothing here knows about other files.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
import warnings
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

from prodaudit.findings import Finding, Location
from prodaudit.model.astwalk import index_and_parents, qualified_names
from prodaudit.model.collect import FactCollector
from prodaudit.model.extractors import extractors
from prodaudit.model.facts import (
    CommentFact,
    LineStats,
    ModuleSummary,
    ParseProblem,
    SuppressionFact,
)
from prodaudit.model.resolve import ImportTable, collect_imports
from prodaudit.model.values import source_lines_for_text

TASK_TAG = re.compile(r"\b(?i:TODO|FIXME|HACK)\b|\bXXX\b")
SUPPRESSION = re.compile(
    r"#\s*prodaudit:\s*ignore(?P<file>-file)?(?:\[(?P<codes>[^\]]*)\])?(?P<reason>[^#]*)", re.IGNORECASE)
NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


@dataclass
class ParsedModule:
    """What a file rule sees: the tree plus the facts already collected from it."""

    path: str
    module: str
    kind: str
    source: str
    tree: ast.Module
    imports: ImportTable
    collector: FactCollector
    lines: list[str] = field(default_factory=list)
    _index: dict | None = field(default=None, repr=False)
    _parents: dict | None = field(default=None, repr=False)
    _scopes: dict | None = field(default=None, repr=False)
    _sorted: dict = field(default_factory=dict, repr=False)

    def resolve(self, node: ast.AST) -> str:
        return self.collector.resolve_node(node)

    def _build_index(self) -> None:
        # Built on first use only: most audits run no file rule, and this walk would
        # otherwise be paid on every module. ctx/op nodes (shared singletons) are left out:
        # nobody asks for them by type or for their parent.
        index, parents = index_and_parents(self.tree)
        self._index, self._parents, self._scopes = index, parents, qualified_names(index, parents)

    def node_index(self) -> dict[type, list[ast.AST]]:
        """Every node by type (each list in walk order, not source order)."""
        if self._index is None:
            self._build_index()
        return self._index

    def nodes(self, *types: type) -> list[ast.AST]:
        """Every node of these types, in source order. Shared between callers (several
        extractors ask for the same types): treat the list as read-only."""
        cached = self._sorted.get(types)
        if cached is not None:
            return cached
        if self._index is None:
            self._build_index()
        found: list[ast.AST] = []
        for kind in types:
            found.extend(self._index.get(kind, ()))
        found.sort(key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
        self._sorted[types] = found
        return found

    def parent(self, node: ast.AST) -> ast.AST | None:
        if self._parents is None:
            self._build_index()
        return self._parents.get(id(node))

    def enclosing_function(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        current = self.parent(node)
        while current is not None:
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return current
            current = self.parent(current)
        return None

    def scope_name(self, fn: ast.AST) -> str:
        """Qualified name of a function or class node ("Class.method")."""
        if self._scopes is None:
            self._build_index()
        return self._scopes.get(id(fn), "")

    def location(self, node: ast.AST) -> Location:
        return Location(self.path, getattr(node, "lineno", 0), getattr(node, "col_offset", -1) + 1,
                        getattr(node, "end_lineno", 0) or 0, (getattr(node, "end_col_offset", -1) or -1) + 1)

    def line_text(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def tokens(self) -> Iterator[tuple]:
        """The source's tokens, for one pass (see iter_source_tokens)."""
        return iter_source_tokens(self.source)


def decode_source(data: bytes) -> str:
    """Decode like the interpreter: BOM and PEP 263 coding cookie, UTF-8 by default."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def line_stats(lines: Sequence[str]) -> LineStats:
    blank = comment = 0
    for line in lines:
        stripped = line.strip()
        if not stripped:
            blank += 1
        elif stripped.startswith("#"):
            comment += 1
    total = len(lines)
    return LineStats(total=total, code=total - blank - comment, comment=comment, blank=blank)


# The C tokenizer that tokenize.generate_tokens wraps: CPython 3.12+ (3.11's gives no
# COMMENT or NL tokens; other interpreters may not have it).
_TokenizerIter = None
if sys.version_info >= (3, 12):
    try:
        from _tokenize import TokenizerIter as _TokenizerIter
    except ImportError:
        pass


def iter_source_tokens(source: str) -> Iterator[tuple]:
    """What tokenize.generate_tokens gives, as plain (type, string, start, end, line)
    tuples: generate_tokens wraps each tuple of the C tokenizer in a TokenInfo, more than
    half of its cost. Iterating raises SyntaxError or tokenize.TokenError on a source
    the tokenizer rejects. Read the tokens as they come: a list of all of them costs
    more than tokenizing twice (its many tuples live long enough for the garbage
    collector to go over them again and again)."""
    readline = io.StringIO(source).readline
    if _TokenizerIter is not None:
        return iter(_TokenizerIter(readline, extra_tokens=True))
    return tokenize.generate_tokens(readline)


NOT_CODE = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                      tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING})


def scan_comments(source: str) -> tuple[list[CommentFact], list[SuppressionFact]]:
    """Task tags and suppressions from COMMENT tokens only (never from strings)."""
    wants_tags = TASK_TAG.search(source) is not None
    wants_suppressions = "prodaudit" in source or "noqa" in source.lower()
    if not (wants_tags or wants_suppressions):
        return [], []
    comments: list[CommentFact] = []
    suppressions: list[SuppressionFact] = []
    try:
        comment_tokens = _comment_tokens(source)
    except (tokenize.TokenError, SyntaxError):
        # Broken files still honour suppressions: match them line by line.
        for number, line in enumerate(source.splitlines(), start=1):
            if "#" in line:
                suppressions.extend(_suppressions_in(line[line.index("#"):], number, number))
        return [], suppressions
    # Own-line comments that hold a suppression: (line, text, its suppressions).
    own_line_suppressions: list[tuple[int, str, list[SuppressionFact]]] = []
    for line, text, own_line in comment_tokens:
        if wants_tags:
            match = TASK_TAG.search(text)
            if match:
                tag = match.group(0).upper()
                comments.append(CommentFact(line, tag, text.lstrip("#").strip()[:200]))
        if wants_suppressions:
            found = _suppressions_in(text, line, line)
            if not found:
                continue
            if own_line:
                own_line_suppressions.append((line, text, found))
            else:
                suppressions.extend(found)
    if own_line_suppressions:
        ordered = sorted(_code_lines(iter_source_tokens(source)))
        for line, text, found in own_line_suppressions:
            # A comment on its own line applies to itself (findings about comments, like
            # TODOs) and to the next line of code.
            suppressions.extend(found)
            target = next((n for n in ordered if n > line), line)
            if target != line:
                suppressions.extend(_suppressions_in(text, target, line))
    return comments, suppressions


def _comment_tokens(source: str) -> list[tuple[int, str, bool]]:
    """(line, text, alone on its line) of every comment, in one pass over the tokens
    that keeps none of the others."""
    comment_type = tokenize.COMMENT
    return [(start[0], text, line_text[: start[1]].strip() == "")
            for kind, text, start, _, line_text in iter_source_tokens(source) if kind == comment_type]


def _code_lines(tokens: Iterable[tuple]) -> set[int]:
    """Every line some token of code (not a comment, newline or indent) is on."""
    lines: set[int] = set()
    for kind, _, start, end, _ in tokens:
        if kind not in NOT_CODE:
            lines.update(range(start[0], end[0] + 1))
    return lines


def _suppressions_in(text: str, target: int, written_at: int) -> list[SuppressionFact]:
    found = []
    match = SUPPRESSION.search(text)
    if match:
        codes = tuple(c.strip().upper() for c in re.split(r"[,\s]+", match.group("codes") or "") if c.strip())
        reason = match.group("reason").strip().lstrip("-:—").strip()
        found.append(SuppressionFact(target, written_at, codes, reason, "prodaudit",
                                     file_level=bool(match.group("file"))))
    noqa = NOQA.search(text)
    if noqa and not match:
        codes = tuple(c.upper() for c in re.split(r"[,\s]+", noqa.group("codes") or "") if c)
        found.append(SuppressionFact(target, written_at, codes, "noqa", "noqa"))
    return found


@cache
def newer_interpreter() -> str | None:
    """A newer CPython than the running one, to tell new syntax from broken syntax."""
    current = sys.version_info[:2]
    for minor in range(20, current[1], -1):
        exe = shutil.which(f"python3.{minor}")
        if exe:
            return exe
    return None


# Errors the running interpreter gives for syntax a newer Python accepts, when no newer
# interpreter is installed to ask: (message fragment, the version that accepts it).
NEWER_SYNTAX_MESSAGES = (
    ("multiple exception types must be parenthesized", (3, 14)),  # PEP 758
    ("f-string: expecting '}'", (3, 12)),  # PEP 701 quotes reuse
    ("f-string expression part cannot include a backslash", (3, 12)),
    ("f-string: unmatched", (3, 12)),
)


def classify_syntax_error(data: bytes, message: str = "") -> str:
    for fragment, version in NEWER_SYNTAX_MESSAGES:
        if fragment in message and sys.version_info[:2] < version:
            return "newer-syntax"
    exe = newer_interpreter()
    if exe is None:
        return "syntax"
    try:
        proc = subprocess.run([exe, "-c", "import ast,sys; ast.parse(sys.stdin.buffer.read())"],
                              input=data, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return "syntax"
    return "newer-syntax" if proc.returncode == 0 else "syntax"


def summarize(path: str, module: str, kind: str, is_package: bool, data: bytes, digest: str,
              file_rules: Sequence = (), extractor_names: Collection[str] | None = None) -> ModuleSummary:
    """`extractor_names`: which extractors to run (None: all of them)."""
    base = {"path": path, "module": module, "kind": kind, "is_package": is_package, "digest": digest}
    try:
        source = decode_source(data)
    except (UnicodeDecodeError, SyntaxError, LookupError) as exc:
        return ModuleSummary(**base, problem=ParseProblem("decode", f"cannot decode as Python source: {exc.__class__.__name__}: {str(exc)[:120]}"))
    lines = source.splitlines()
    stats = line_stats(lines)
    if "\x00" in source:
        return ModuleSummary(**base, stats=stats, problem=ParseProblem("decode", "file contains NUL bytes"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences are not our business here
            tree = ast.parse(source, filename=path, type_comments=False)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", 0) or 0
        column = getattr(exc, "offset", 0) or 0
        message = getattr(exc, "msg", None) or str(exc) or exc.__class__.__name__
        kind_of_problem = classify_syntax_error(data, str(message)) if isinstance(exc, SyntaxError) else "syntax"
        return ModuleSummary(**base, stats=stats, suppressions=tuple(scan_comments(source)[1]),
                             problem=ParseProblem(kind_of_problem, str(message)[:200], line, column))
    imports = collect_imports(tree, module, is_package)
    table = ImportTable(imports, module)
    collector = FactCollector(table)
    try:
        with source_lines_for_text(lines):
            collector.visit(tree)
    except RecursionError:
        return ModuleSummary(**base, stats=stats, problem=ParseProblem("syntax", "expression nesting too deep to analyse"))
    comments, suppressions = scan_comments(source)
    parsed = ParsedModule(path, module, kind, source, tree, table, collector, lines)
    findings: list[Finding] = []
    extra: list[object] = []
    for extract in extractors(extractor_names):
        try:
            extra.extend(extract(parsed))
        except Exception as exc:  # one broken extractor must not cost the module's summary
            from prodaudit.errors import internal_error_finding, strict_mode

            if strict_mode():
                raise
            findings.append(internal_error_finding(f"extractor {extract.__module__}", path, exc))
    for rule in file_rules:
        findings.extend(run_file_rule(rule, parsed))
    return ModuleSummary(
        **base, stats=stats, imports=tuple(imports),
        functions=tuple(sorted(collector.functions, key=lambda f: (f.line, f.qualname))),
        classes=tuple(collector.classes), assignments=tuple(collector.assignments),
        calls=tuple(collector.calls), mutations=tuple(collector.mutations),
        excepts=tuple(collector.excepts), loops=tuple(collector.loops), comments=tuple(comments),
        suppressions=tuple(suppressions), globals_declared=tuple(collector.globals_declared),
        has_main_guard=collector.has_main_guard,
        findings=tuple(findings), extra=tuple(extra),
    )


def run_file_rule(rule, parsed: ParsedModule) -> list[Finding]:
    """Run one file rule; a crash becomes an internal-error finding unless strict."""
    from prodaudit.errors import internal_error_finding, strict_mode

    if parsed.kind not in rule.meta.file_kinds:
        return []
    try:
        return list(rule.check_module(parsed))
    except Exception as exc:  # one broken rule must not stop the audit
        if strict_mode():
            raise
        return [internal_error_finding(rule.meta.id, parsed.path, exc)]
