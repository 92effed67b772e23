"""Local variables and attribute writes that may hold datetimes, per function.

The generic facts keep only call-valued locals and no attribute writes (model/collect.py,
to keep summaries small). PA309 needs `cutoff = datetime.now(UTC) - timedelta(...)` and
`order.paid_at = paid_at` to tell aware from naive values, so this extractor records them
in modules that deal with datetimes at all.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass

from prodaudit.model.extractors._source_gates import ends_word, occurrences, starts_word
from prodaudit.model.extractors.branches import COMPOUND_STATEMENTS, statement_children
from prodaudit.model.values import Value, dotted_name, source_lines_for_text, to_value

MODULE_GATE = re.compile(r"datetime|timezone|utcnow|\bUTC\b|pendulum|arrow")  # see _about_time
# Statements worth a Value: the line mentions time, or an attribute named like a timestamp
# gets a value (`order.paid_at = paid_at`). Everything else is skipped unconverted.
TIME_TEXT = re.compile(r"date|time|now|utc|UTC|tz|expire|until|since|ago|cutoff|deadline")
TIME_ATTRIBUTE = re.compile(r"(_at|_on|date|time|stamp|expire[sd]?|until|since|deadline)$", re.IGNORECASE)


@dataclass(frozen=True)
class LocalValue:
    """`name = <expression>` inside a function (the last one wins in the model phase)."""

    scope: str
    target: str
    line: int
    value: Value


@dataclass(frozen=True)
class AttributeWrite:
    """`owner.attribute = <expression>` inside a function, owner a plain local name."""

    scope: str
    owner: str
    attribute: str
    line: int
    value: Value


def _about_time(source: str) -> bool:
    """MODULE_GATE.search(source), by substring tests instead of a try at every position."""
    if any(word in source for word in ("datetime", "timezone", "utcnow", "pendulum", "arrow")):
        return True
    return any(starts_word(source, at) and ends_word(source, at + 3) for at in occurrences(source, "UTC"))


def extract(parsed) -> Iterable[object]:
    if parsed.kind != "source" or not _about_time(parsed.source):
        return ()
    found: list[object] = []
    resolve = parsed.imports.resolve
    with source_lines_for_text(parsed.lines):
        stack: list[tuple[ast.AST, str, bool]] = [(parsed.tree, "", False)]
        while stack:
            node, scope, in_function = stack.pop()
            for child in statement_children(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    inner = f"{scope}.{child.name}" if scope else child.name
                    stack.append((child, inner, not isinstance(child, ast.ClassDef)))
                    continue
                if in_function and isinstance(child, (ast.Assign, ast.AnnAssign)) and child.value is not None:
                    targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                    timely = TIME_TEXT.search(parsed.lines[child.lineno - 1]) is not None
                    simple = [t for t in targets if (isinstance(t, ast.Name) and timely) or (
                        isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                        and t.value.id not in ("self", "cls")
                        and (timely or TIME_ATTRIBUTE.search(t.attr)))]
                    value = to_value(child.value, resolve) if simple else None
                    for target in simple:
                        if value is None:
                            continue
                        if isinstance(target, ast.Name):
                            found.append(LocalValue(scope, target.id, child.lineno, value))
                        else:
                            found.append(AttributeWrite(scope, dotted_name(target.value) or "",
                                                        target.attr, child.lineno, value))
                if isinstance(child, COMPOUND_STATEMENTS):
                    stack.append((child, scope, in_function))
    return found
