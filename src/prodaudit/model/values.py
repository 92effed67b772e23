"""A small, picklable picture of simple expressions (call arguments, defaults, decorators).

The summary step records expressions as `Value`s so that the model phase can resolve
settings, router prefixes, pool sizes and dependencies without the syntax tree. Anything
too complex becomes kind "other" with its source text: the model then says "unknown".
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

MAX_DEPTH = 5
MAX_ITEMS = 32
MAX_TEXT = 200

# kinds: const, name, attr, call, list, tuple, set, dict, fstring, subscript, binop, starred,
# await, other
Literal = str | int | float | bool | None | bytes


@dataclass(frozen=True)
class Value:
    kind: str
    # Source text (shortened), e.g. "settings.db_pool_size" or "os.getenv('X', 5)".
    text: str = ""
    # Literal value for kind "const".
    const: Literal = None
    # Canonical dotted name for name/attr/call/subscript ("fastapi.Depends"), when the
    # module's imports resolve it; otherwise the dotted source text ("router.get").
    name: str = ""
    # Positional items: call args, list/tuple/set elements, subscript slice parts,
    # dict values, binop operands, fstring parts.
    items: tuple[Value, ...] = ()
    # Call keywords / dict keys as (key, value); key "**" for a ** expansion.
    keywords: tuple[tuple[str, Value], ...] = ()
    line: int = 0

    @property
    def is_const(self) -> bool:
        return self.kind == "const"

    def keyword(self, key: str) -> Value | None:
        for name, value in self.keywords:
            if name == key:
                return value
        return None

    def arg(self, index: int) -> Value | None:
        return self.items[index] if index < len(self.items) else None

    def walk(self):
        """This value and every value nested in it, depth first."""
        yield self
        for item in self.items:
            yield from item.walk()
        for _, item in self.keywords:
            yield from item.walk()


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for Name/Attribute chains, None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


# Lines of the module being summarized, set by `source_lines_for_text`. Slicing the source
# is several times cheaper than ast.unparse, which dominated the summary step.
_SOURCE_LINES: list[str] | None = None


@contextmanager
def source_lines_for_text(lines: list[str]):
    global _SOURCE_LINES
    previous, _SOURCE_LINES = _SOURCE_LINES, lines
    try:
        yield
    finally:
        _SOURCE_LINES = previous


def source_text(node: ast.AST) -> str:
    """The expression as written when it fits on one line, else as ast.unparse gives it
    (a multi-line slice could carry comments that would break re-parsing)."""
    lines = _SOURCE_LINES
    line = getattr(node, "lineno", 0)
    if lines is not None and line and line == getattr(node, "end_lineno", 0) and line <= len(lines):
        text = lines[line - 1]
        start, end = node.col_offset, node.end_col_offset
        # Offsets are UTF-8 byte offsets: slice bytes unless the line is ASCII.
        text = text[start:end] if text.isascii() else text.encode()[start:end].decode("utf-8", "replace")
    else:
        try:
            text = ast.unparse(node)
        except Exception:  # ast.unparse can fail on odd trees; text is only informative
            return "<expr>"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


def to_value(node: ast.AST | None, resolve: Callable[[str], str], depth: int = 0) -> Value | None:
    """Turn an expression into a Value; `resolve` maps a dotted name to its canonical name."""
    if node is None:
        return None
    line = getattr(node, "lineno", 0)
    if depth > MAX_DEPTH:
        return Value("other", source_text(node), line=line)
    if isinstance(node, ast.Constant):
        text = repr(node.value) if not isinstance(node.value, str) else node.value
        return Value("const", text[:MAX_TEXT], const=node.value, line=line)
    if isinstance(node, (ast.Name, ast.Attribute)):
        dotted = dotted_name(node)
        if dotted is not None:
            kind = "name" if isinstance(node, ast.Name) else "attr"
            return Value(kind, dotted, name=resolve(dotted), line=line)
        return Value("other", source_text(node), line=line)
    if isinstance(node, ast.Call):
        func = dotted_name(node.func)
        name = resolve(func) if func else source_text(node.func)
        args = tuple(
            v for v in (to_value(a, resolve, depth + 1) for a in node.args[:MAX_ITEMS]) if v
        )
        keywords = tuple(
            (kw.arg or "**", to_value(kw.value, resolve, depth + 1) or Value("other"))
            for kw in node.keywords[:MAX_ITEMS]
        )
        return Value("call", source_text(node), name=name, items=args, keywords=keywords,
                     line=line)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        kind = type(node).__name__.lower()
        items = tuple(v for v in (to_value(e, resolve, depth + 1) for e in node.elts[:MAX_ITEMS]) if v)
        return Value(kind, source_text(node), items=items, line=line)
    if isinstance(node, ast.Dict):
        keywords = []
        for key, val in list(zip(node.keys, node.values))[:MAX_ITEMS]:
            key_text = "**" if key is None else (
                str(key.value) if isinstance(key, ast.Constant) else source_text(key))
            keywords.append((key_text, to_value(val, resolve, depth + 1) or Value("other")))
        return Value("dict", source_text(node), keywords=tuple(keywords), line=line)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values[:MAX_ITEMS]:
            if isinstance(part, ast.FormattedValue):
                parts.append(to_value(part.value, resolve, depth + 1) or Value("other"))
            else:
                parts.append(to_value(part, resolve, depth + 1) or Value("other"))
        return Value("fstring", source_text(node), items=tuple(parts), line=line)
    if isinstance(node, ast.Subscript):
        base = dotted_name(node.value)
        slice_node = node.slice
        elts = slice_node.elts if isinstance(slice_node, ast.Tuple) else [slice_node]
        items = tuple(v for v in (to_value(e, resolve, depth + 1) for e in elts[:MAX_ITEMS]) if v)
        return Value("subscript", source_text(node), name=resolve(base) if base else "",
                     items=items, line=line)
    if isinstance(node, ast.BinOp):
        items = tuple(v for v in (to_value(node.left, resolve, depth + 1),
                                  to_value(node.right, resolve, depth + 1)) if v)
        return Value("binop", source_text(node), name=type(node.op).__name__, items=items,
                     line=line)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        if isinstance(node.op, ast.USub) and isinstance(node.operand.value, (int, float)):
            return Value("const", source_text(node), const=-node.operand.value, line=line)
    if isinstance(node, ast.Starred):
        inner = to_value(node.value, resolve, depth + 1)
        return Value("starred", source_text(node), items=(inner,) if inner else (), line=line)
    if isinstance(node, ast.Await):
        inner = to_value(node.value, resolve, depth + 1)
        return Value("await", source_text(node), items=(inner,) if inner else (), line=line)
    return Value("other", source_text(node), line=line)
