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
import io
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

    def visit(body: list[ast.stmt], declarative: bool) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                kind = IMPORT
            elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                kind = DECLARATION  # docstrings
            elif declarative and isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                kind = DECLARATION  # module constants, class fields, schema tables
            else:
                kind = CODE
            kinds.setdefault(stmt.lineno, kind)
            if isinstance(stmt, ast.ClassDef):
                visit(stmt.body, True)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(stmt.body, False)
            else:
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    for child in getattr(stmt, field, ()) or ():
                        if isinstance(child, ast.stmt):
                            visit([child], declarative)
                        else:
                            visit(getattr(child, "body", []), declarative)

    visit(tree.body, True)
    return kinds


def normalized_lines(source: str) -> list[tuple[int, int, list[str]]]:
    """(start line, end line, normalized tokens) per logical line, in one pass: a name's
    placeholder is decided when the next token shows whether it is called."""
    lines: list[tuple[int, int, list[str]]] = []
    out: list[str] = []
    first_line = last_line = 0
    pending = ""  # a NAME waiting for the next token
    previous = ""  # the token before the pending name
    fstring_depth = 0
    name_type, newline_type, number_type, string_type = (
        tokenize.NAME, tokenize.NEWLINE, tokenize.NUMBER, tokenize.STRING)
    for kind, text, start, end, _ in tokenize.generate_tokens(io.StringIO(source).readline):
        if kind == FSTRING_START:
            fstring_depth += 1
            if fstring_depth > 1:
                continue
            kind = string_type
        elif fstring_depth:
            if kind == FSTRING_END:
                fstring_depth -= 1
            continue
        elif kind in SKIPPED:
            continue
        if pending:
            called = text == "(" and previous not in ("def", "class")
            out.append(pending if pending in KEEP or previous == "." or called else "N")
            pending = ""
        if kind == newline_type:
            if out:
                lines.append((first_line, last_line, out))
            out = []
            continue
        if not out:
            first_line = start[0]
        last_line = end[0]
        if kind == name_type:
            previous = out[-1] if out else ""
            pending = text
        elif kind == number_type:
            out.append("0")
        elif kind == string_type:
            out.append("S")
        else:
            out.append(text)
    if pending:
        out.append(pending if pending in KEEP or previous == "." else "N")
    if out:
        lines.append((first_line, last_line, out))
    return lines


def digest(tokens: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b(" ".join(tokens).encode(), digest_size=8).digest(), "big")


def extract(parsed) -> Iterable[object]:
    name = parsed.path.rsplit("/", 1)[-1]
    if parsed.kind != "source" or name == "__init__.py" or name.endswith(GENERATED_SUFFIXES):
        return []
    try:
        lines = normalized_lines(parsed.source)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    kinds = statement_kinds(parsed.tree)
    return [TokenLines(
        starts=tuple(start for start, _, _ in lines),
        ends=tuple(end for _, end, _ in lines),
        digests=tuple(digest(tokens) for _, _, tokens in lines),
        tokens=tuple(len(tokens) for _, _, tokens in lines),
        kinds="".join(kinds.get(start, CODE) for start, _, _ in lines),
    )]
