"""Normalized token lines of a source module, for copy-paste (clone) detection.

Each logical line becomes a short digest of its tokens with local names, strings and
numbers replaced by placeholders, so a block copied and then given other variable names or
messages still matches. Attribute names (`.execute`) and called names (`select(`) are kept:
they carry what the code does, and keeping them stops every run of look-alike assignments
from matching. Each line also records its kind (import, declaration, code) so that blocks of
imports or of constant tables are not reported as duplicated logic.

Digests are blake2b, not hash(): str hashes change between processes and these facts are
cached across runs.
"""

from __future__ import annotations

import ast
import hashlib
import keyword
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

SKIPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.INDENT, tokenize.DEDENT,
                     tokenize.ENCODING, tokenize.ENDMARKER})
FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
FSTRING_END = getattr(tokenize, "FSTRING_END", -1)
GENERATED_SUFFIXES = ("_pb2.py", "_pb2_grpc.py")
IMPORT, DECLARATION, CODE = "i", "d", "c"
KEEP = frozenset(keyword.kwlist)
IMPORTS = frozenset({ast.Import, ast.ImportFrom})
ASSIGNMENTS = frozenset({ast.Assign, ast.AnnAssign})
FUNCTIONS = frozenset({ast.FunctionDef, ast.AsyncFunctionDef})
BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
CLAUSE_FIELDS = frozenset({"handlers", "cases"})


@dataclass(frozen=True)
class TokenLines:
    """Parallel tuples, one entry per logical line, in source order."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    digests: tuple[int, ...]
    tokens: tuple[int, ...]
    kinds: str  # one character per line: IMPORT, DECLARATION or CODE


def statement_kinds(tree: ast.Module) -> dict[int, str]:
    """Start line -> kind, for statements at every depth."""
    kinds: dict[int, str] = {}
    nested_fields: dict[type, tuple[str, ...]] = {}  # per statement type, its fields that hold blocks

    def visit(body: list[ast.stmt], declarative: bool) -> None:
        for stmt in body:
            stmt_type = type(stmt)
            if stmt_type in IMPORTS:
                kind = IMPORT
            elif stmt_type is ast.Expr and type(stmt.value) is ast.Constant:
                kind = DECLARATION  # docstrings
            elif declarative and stmt_type in ASSIGNMENTS:
                kind = DECLARATION  # module constants, class fields, schema tables
            else:
                kind = CODE
            kinds.setdefault(stmt.lineno, kind)
            if stmt_type is ast.ClassDef:
                visit(stmt.body, True)
                continue
            if stmt_type in FUNCTIONS:
                visit(stmt.body, False)
                continue
            fields = nested_fields.get(stmt_type)
            if fields is None:
                fields = nested_fields[stmt_type] = tuple(f for f in BLOCK_FIELDS if f in stmt_type._fields)
            for field in fields:
                if field in CLAUSE_FIELDS:  # except handlers, match cases: their bodies
                    for clause in getattr(stmt, field) or ():
                        visit(clause.body, declarative)
                else:
                    visit(getattr(stmt, field) or (), declarative)

    visit(tree.body, True)
    return kinds


def normalized_lines(tokens: Iterable[tuple]) -> list[tuple[int, int, list[str]]]:
    """(start line, end line, normalized tokens) per logical line, in one pass over the
    tokens (see summary.iter_source_tokens): a name's placeholder is decided when the next
    token shows whether it is called."""
    lines: list[tuple[int, int, list[str]]] = []
    out: list[str] = []
    first_line = 0
    last_end = (0, 0)  # end of the line's last token
    pending = ""  # a NAME waiting for the next token
    previous = ""  # the token before the pending name
    fstring_depth = 0  # an f-string is one STRING: its inner tokens are skipped
    name_type, op_type, newline_type, number_type, string_type = (
        tokenize.NAME, tokenize.OP, tokenize.NEWLINE, tokenize.NUMBER, tokenize.STRING)
    for kind, text, start, end, _ in tokens:
        if fstring_depth:
            if kind == FSTRING_START:
                fstring_depth += 1
            elif kind == FSTRING_END:
                fstring_depth -= 1
            continue
        if kind in SKIPPED:
            continue
        if kind == FSTRING_START:
            fstring_depth = 1
            kind = string_type
        if pending:
            called = text == "(" and previous not in ("def", "class")
            out.append(pending if pending in KEEP or previous == "." or called else "N")
            pending = ""
        if kind == newline_type:
            if out:
                lines.append((first_line, last_end[0], out))
            out = []
            continue
        if not out:
            first_line = start[0]
        last_end = end
        if kind == name_type:
            previous = out[-1] if out else ""
            pending = text
        elif kind == op_type:
            out.append(text)
        elif kind == number_type:
            out.append("0")
        elif kind == string_type:
            out.append("S")
        else:
            out.append(text)
    if pending:
        out.append(pending if pending in KEEP or previous == "." else "N")
    if out:
        lines.append((first_line, last_end[0], out))
    return lines


def digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def extract(parsed) -> Iterable[object]:
    name = parsed.path.rsplit("/", 1)[-1]
    if parsed.kind != "source" or name == "__init__.py" or name.endswith(GENERATED_SUFFIXES):
        return []
    try:
        lines = normalized_lines(parsed.tokens())
    except (tokenize.TokenError, SyntaxError):
        return []
    kinds = statement_kinds(parsed.tree)
    starts: list[int] = []
    ends: list[int] = []
    digests: list[int] = []
    counts: list[int] = []
    line_kinds: list[str] = []
    known: dict[str, int] = {}  # a module repeats many lines (`return N`, `)`): hash each once
    for start, end, line_tokens in lines:
        text = " ".join(line_tokens)
        line_digest = known.get(text)
        if line_digest is None:
            line_digest = known[text] = digest(text)
        starts.append(start)
        ends.append(end)
        digests.append(line_digest)
        counts.append(len(line_tokens))
        line_kinds.append(kinds.get(start, CODE))
    return [TokenLines(starts=tuple(starts), ends=tuple(ends), digests=tuple(digests),
                       tokens=tuple(counts), kinds="".join(line_kinds))]
