"""Arms of `if`/`else` and `match` statements per function, so a project rule can tell
whether two calls can run in the same pass through a function (PA308: two commits in one
request) or are alternatives (`if new: commit() else: commit()`).

Two lines are exclusive when some group has them in different arms, or when one is in an
arm that ends with return/raise/continue/break and the other comes after that statement.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


@dataclass(frozen=True)
class BranchArm:
    scope: str
    group: int  # arms of one if/elif/else chain or match share it (unique per module)
    arm: int
    line: int
    end_line: int
    terminates: bool  # the arm's last statement leaves it (return, raise, continue, break)


def _exits(body: list[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], EXITS)


# Statements that can hold statements: the only ones statement_children finds anything in,
# so the walks below never ask it about the others (most statements of a module).
_BLOCK_FIELDS = frozenset({"body", "orelse", "finalbody", "handlers", "cases"})
COMPOUND_STATEMENTS = tuple(kind for kind in ast.stmt.__subclasses__() if _BLOCK_FIELDS & set(kind._fields))


def statement_children(node: ast.AST):
    """Statements directly inside a statement (bodies, else/finally, handlers, cases);
    expressions are never entered, which keeps this walk cheap."""
    for name in ("body", "orelse", "finalbody"):
        for child in getattr(node, name, ()) or ():
            if isinstance(child, ast.stmt):
                yield child
    for handler in getattr(node, "handlers", ()) or ():
        yield from handler.body
    for case in getattr(node, "cases", ()) or ():
        yield from case.body


def extract(parsed) -> Iterable[object]:
    if parsed.kind != "source":
        return ()
    arms: list[BranchArm] = []
    counter = 0
    stack: list[tuple[ast.AST, str]] = [(parsed.tree, "")]
    while stack:
        node, scope = stack.pop()
        for child in statement_children(node):
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{child.name}" if scope else child.name
            elif isinstance(child, ast.If) and scope:
                counter += 1
                bodies = [child.body]
                # elif chains are nested Ifs in orelse: one group, one arm each
                current = child
                while len(current.orelse) == 1 and isinstance(current.orelse[0], ast.If):
                    current = current.orelse[0]
                    bodies.append(current.body)
                if current.orelse:
                    bodies.append(current.orelse)
                for index, body in enumerate(bodies):
                    arms.append(BranchArm(scope, counter, index, body[0].lineno,
                                          body[-1].end_lineno or body[-1].lineno, _exits(body)))
            elif isinstance(child, ast.Match) and scope:
                counter += 1
                for index, case in enumerate(child.cases):
                    body = case.body
                    arms.append(BranchArm(scope, counter, index, body[0].lineno,
                                          body[-1].end_lineno or body[-1].lineno, _exits(body)))
            if isinstance(child, COMPOUND_STATEMENTS):
                stack.append((child, inner))
    return arms


def inside_arm(arms: Iterable[BranchArm], line: int) -> bool:
    """Is the line conditional (inside some arm of an if/elif/else or match)?"""
    return any(arm.line <= line <= arm.end_line for arm in arms)


def exclusive(arms: Iterable[BranchArm], first: int, second: int) -> bool:
    """Can lines `first` < `second` of one function not both run in one call?"""
    groups: dict[int, list[BranchArm]] = {}
    for arm in arms:
        groups.setdefault(arm.group, []).append(arm)
    for members in groups.values():
        holder_a = next((a for a in members if a.line <= first <= a.end_line), None)
        holder_b = next((a for a in members if a.line <= second <= a.end_line), None)
        if holder_a is not None and holder_b is not None and holder_a.arm != holder_b.arm:
            return True
        if holder_a is not None and holder_a.terminates and holder_b is None and second > holder_a.end_line:
            return True
    return False
