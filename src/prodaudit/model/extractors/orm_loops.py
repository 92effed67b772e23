"""Loops over ORM query results, and what they read on each row.

`for book in result.scalars(): book.author.name` is an N+1 when `author` is a lazy
relationship the query did not eager-load; under an AsyncSession the lazy load raises
MissingGreenlet instead. Whether `author` is a relationship, and whether the query loaded
it, is decided in the model phase (model/queries.py) from these facts and the ORM model;
here we only record, per loop, where its rows come from and which attributes of the loop
variable the body reads.

The analysis itself lives in orm_queries.py (one walk records statements and loops).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

# `row.awaitable_attrs.author` (sqlalchemy.ext.asyncio.AsyncAttrs).
AWAITABLE_ATTRS = "awaitable_attrs"


@dataclass(frozen=True)
class AttributeRead:
    attribute: str
    line: int
    # "read" (row.author), "awaitable" (await row.awaitable_attrs.author), "iterated"
    # (a nested `for x in row.items`).
    how: str = "read"


@dataclass(frozen=True)
class RowLoop:
    """A for-loop or comprehension whose iterable is (or may be) ORM rows."""

    scope: str
    line: int
    target: str  # the loop variable (simple names only)
    # Where the rows come from:
    #   "query": a statement executed in this function (query_line = its QueryFact.line);
    #   "call": the result of a call (callee/call_line), resolved in the model phase;
    #   "relationship": a collection attribute (`order.items`) of an object whose own
    #       origin is described by base_kind/base_line/base_callee/attribute.
    origin: str
    query_line: int = 0
    callee: str = ""
    call_line: int = 0
    attribute: str = ""  # relationship origin: the collection attribute
    base_origin: str = ""  # relationship origin: "query" or "call" for the object
    reads: tuple[AttributeRead, ...] = ()
    is_async: bool = False  # inside an async def
    comprehension: bool = False
    iterable_text: str = ""


def reads_of(target: str, body: Iterable[ast.AST]) -> list[AttributeRead]:
    """Attributes of `target` read in the loop body, first occurrence each."""
    seen: dict[str, AttributeRead] = {}
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == AWAITABLE_ATTRS and isinstance(node.value.value, ast.Name) \
                and node.value.value.id == target:
            read = AttributeRead(node.attr, node.lineno, "awaitable")
            if node.attr not in seen or seen[node.attr].line > read.line:
                seen[node.attr] = read
            continue
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == target and isinstance(node.ctx, ast.Load) and node.attr != AWAITABLE_ATTRS:
            read = AttributeRead(node.attr, node.lineno)
            if node.attr not in seen or seen[node.attr].line > read.line:
                seen[node.attr] = read
        stack.extend(ast.iter_child_nodes(node))
    return sorted(seen.values(), key=lambda r: (r.line, r.attribute))


def extract(parsed) -> Iterable[object]:
    from prodaudit.model.extractors.orm_queries import analyse

    return analyse(parsed).loops
