"""A small, picklable picture of simple expressions (call arguments, defaults, decorators).

The summary step records expressions as `Value`s so that the model phase can resolve
settings, router prefixes, pool sizes and dependencies without the syntax tree. Anything
too complex becomes kind "other" with its source text: the model then says "unknown".
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, fields

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
    if isinstance(node, ast.Name):
        return node.id
    if not isinstance(node, ast.Attribute):
        return None
    parts = [node.attr]
    node = node.value
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    parts.reverse()
    return ".".join(parts)


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
        except Exception:  # noqa: BLE001 - ast.unparse can fail on odd trees; text is only informative
            return "<expr>"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 3] + "..."


_FIELD_NAMES = ("kind", "text", "const", "name", "items", "keywords", "line")
if tuple(f.name for f in fields(Value)) != _FIELD_NAMES:
    raise AssertionError("values._value must set exactly the fields of Value")
_new_object = object.__new__
_set_attribute = object.__setattr__


def _value(kind: str, text: str = "", const: Literal = None, name: str = "",
           items: tuple[Value, ...] = (), keywords: tuple[tuple[str, Value], ...] = (),
           line: int = 0) -> Value:
    """The same object as `Value(...)`, built three times faster: the frozen dataclass's
    __init__ sets each of the seven fields through object.__setattr__, and a module
    summary builds hundreds of thousands of Values."""
    value = _new_object(Value)
    _set_attribute(value, "__dict__", {"kind": kind, "text": text, "const": const, "name": name,
                                       "items": items, "keywords": keywords, "line": line})
    return value


def to_value(node: ast.AST | None, resolve: Callable[[str], str], depth: int = 0) -> Value | None:
    """Turn an expression into a Value; `resolve` maps a dotted name to its canonical name.
    None only for None: every expression becomes some Value."""
    if node is None:
        return None
    line = getattr(node, "lineno", 0)
    if depth > MAX_DEPTH:
        return _value("other", source_text(node), line=line)
    if isinstance(node, ast.Name):
        return _value("name", node.id, name=resolve(node.id), line=line)
    if isinstance(node, ast.Attribute):
        dotted = dotted_name(node)
        if dotted is not None:
            return _value("attr", dotted, name=resolve(dotted), line=line)
        return _value("other", source_text(node), line=line)
    if isinstance(node, ast.Constant):
        text = repr(node.value) if not isinstance(node.value, str) else node.value
        return _value("const", text[:MAX_TEXT], const=node.value, line=line)
    depth += 1
    if isinstance(node, ast.Call):
        func = dotted_name(node.func)
        name = resolve(func) if func else source_text(node.func)
        args = tuple([to_value(a, resolve, depth) for a in node.args[:MAX_ITEMS]])
        keywords = tuple([(kw.arg or "**", to_value(kw.value, resolve, depth))
                          for kw in node.keywords[:MAX_ITEMS]])
        return _value("call", source_text(node), name=name, items=args, keywords=keywords,
                      line=line)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        kind = type(node).__name__.lower()
        items = tuple([to_value(e, resolve, depth) for e in node.elts[:MAX_ITEMS]])
        return _value(kind, source_text(node), items=items, line=line)
    if isinstance(node, ast.Dict):
        keywords = []
        for key, val in list(zip(node.keys, node.values))[:MAX_ITEMS]:
            key_text = "**" if key is None else (
                str(key.value) if isinstance(key, ast.Constant) else source_text(key))
            keywords.append((key_text, to_value(val, resolve, depth)))
        return _value("dict", source_text(node), keywords=tuple(keywords), line=line)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values[:MAX_ITEMS]:
            if isinstance(part, ast.FormattedValue):
                parts.append(to_value(part.value, resolve, depth))
            else:
                parts.append(to_value(part, resolve, depth))
        return _value("fstring", source_text(node), items=tuple(parts), line=line)
    if isinstance(node, ast.Subscript):
        base = dotted_name(node.value)
        slice_node = node.slice
        elts = slice_node.elts if isinstance(slice_node, ast.Tuple) else [slice_node]
        items = tuple([to_value(e, resolve, depth) for e in elts[:MAX_ITEMS]])
        return _value("subscript", source_text(node), name=resolve(base) if base else "",
                      items=items, line=line)
    if isinstance(node, ast.BinOp):
        items = (to_value(node.left, resolve, depth), to_value(node.right, resolve, depth))
        return _value("binop", source_text(node), name=type(node.op).__name__, items=items,
                      line=line)
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant) and \
            isinstance(node.op, ast.USub) and isinstance(node.operand.value, (int, float)):
        return _value("const", source_text(node), const=-node.operand.value, line=line)
    if isinstance(node, ast.Starred):
        return _value("starred", source_text(node), items=(to_value(node.value, resolve, depth),),
                      line=line)
    if isinstance(node, ast.Await):
        return _value("await", source_text(node), items=(to_value(node.value, resolve, depth),),
                      line=line)
    return _value("other", source_text(node), line=line)
