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

from prodaudit.model.values import Value, dotted_name, source_lines_for_text, to_value

MODULE_GATE = re.compile(r"datetime|timezone|utcnow|\bUTC\b|pendulum|arrow")


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


def extract(parsed) -> Iterable[object]:
    if parsed.kind != "source" or not MODULE_GATE.search(parsed.source):
        return ()
    found: list[object] = []
    resolve = parsed.imports.resolve
    with source_lines_for_text(parsed.lines):
        stack: list[tuple[ast.AST, str, bool]] = [(parsed.tree, "", False)]
        while stack:
            node, scope, in_function = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    inner = f"{scope}.{child.name}" if scope else child.name
                    stack.append((child, inner, not isinstance(child, ast.ClassDef)))
                    continue
                if in_function and isinstance(child, (ast.Assign, ast.AnnAssign)) and child.value is not None:
                    targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                    value = to_value(child.value, resolve)
                    for target in targets:
                        if value is None:
                            continue
                        if isinstance(target, ast.Name):
                            found.append(LocalValue(scope, target.id, child.lineno, value))
                        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                                and target.value.id not in ("self", "cls"):
                            found.append(AttributeWrite(scope, dotted_name(target.value) or "",
                                                        target.attr, child.lineno, value))
                stack.append((child, scope, in_function))
    return found
