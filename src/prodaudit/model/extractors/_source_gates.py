"""Cheap text tests that extractors run on a whole module before touching its tree.

A `re` search whose pattern starts with `\b` or a character class tries the pattern at
every position of the text; `str.find` of a literal skips through it many times faster.
These helpers let a gate find its literal first and check the rest around each hit, giving
exactly the answer of the regex it replaces (each caller says which).

Not an extractor itself (no `extract`): the extractor loader skips it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_WORD_CHARACTER = re.compile(r"\w")  # the very class `\w` and `\b` use


def is_word_character_at(text: str, index: int) -> bool:
    """`\\w` matches text[index] (False outside the text, as `\\b` sees the ends)."""
    return 0 <= index < len(text) and _WORD_CHARACTER.match(text, index) is not None


def occurrences(text: str, literal: str) -> Iterator[int]:
    """Start of every occurrence of literal, overlapping ones included."""
    at = text.find(literal)
    while at >= 0:
        yield at
        at = text.find(literal, at + 1)


def starts_word(text: str, index: int) -> bool:
    """`\\b` holds before text[index], given that text[index] is a word character."""
    return not is_word_character_at(text, index - 1)


def ends_word(text: str, index: int) -> bool:
    """`\\b` holds before text[index], given that text[index - 1] is a word character."""
    return not is_word_character_at(text, index)


def may_name_package(parsed, *packages: str) -> bool:
    """False only when no name in the module can resolve (ImportTable.resolve) to one of
    these top-level packages or anything in them, so a rule looking for their functions
    can skip the per-call resolving. A resolved name is a dotted name as written, or an
    import's target (text of the import, or for a relative import the module's own dotted
    path) followed by written names; canonical aliases keep the top-level package. So the
    package is spelled in the source text or in the module's path. Python folds look-alike
    letters in identifiers (NFKC), so text that is not ASCII always may."""
    source = parsed.source
    if not source.isascii():
        return True
    return any(package in source or package in parsed.module for package in packages)


def has_word(text: str, word: str) -> bool:
    """`\\bword\\b` matches somewhere in text (word made of word characters)."""
    return any(starts_word(text, at) and ends_word(text, at + len(word)) for at in occurrences(text, word))
