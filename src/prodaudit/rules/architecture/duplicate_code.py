from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.token_lines import CODE, TokenLines
from prodaudit.rules.base import ProjectRule, RuleMeta, register

MIN_LINES = 8  # logical lines in a block
MIN_TOKENS = 60
MIN_CODE_LINES = 5  # not imports, docstrings or constant/field declarations
MIN_DISTINCT = 5  # different lines in the block
MAX_FILES_PER_WINDOW = 12  # more copies than this is a framework idiom, not a copy-paste
LOW_FROM_LINES = 30  # physical lines duplicated between two files


@dataclass(frozen=True)
class Copy:
    """One block of `length` logical lines, equal after normalization in two files."""

    first: int  # index into the first file's token lines
    second: int
    length: int


@dataclass(frozen=True)
class ModuleLines:
    path: str
    module: str
    lines: TokenLines
    summary: object


def is_substantial(lines: TokenLines, start: int, length: int) -> bool:
    end = start + length
    code = [i for i in range(start, end) if lines.kinds[i] == CODE]
    # Distinct lines: a run of look-alike statements (print after print) is not a copy.
    distinct = len(set(lines.digests[start:end]))
    return (length >= MIN_LINES and sum(lines.tokens[start:end]) >= MIN_TOKENS
            and len(code) >= MIN_CODE_LINES and distinct >= MIN_DISTINCT)


def physical(lines: TokenLines, start: int, length: int) -> tuple[int, int]:
    return lines.starts[start], lines.ends[start + length - 1]


def enclosing(summary, line: int) -> str:
    best = None
    for fn in summary.functions:
        if fn.line <= line <= fn.end_line and (best is None or fn.line >= best.line):
            best = fn
    return best.qualname if best else "<module>"


def find_copies(modules: list[ModuleLines]) -> dict[tuple[int, int], list[Copy]]:
    """(first file, second file) -> maximal equal blocks; files by index, first <= second
    (the same file for a block copied within it). A block the second file shares with
    several earlier places is kept once, against the earliest of them."""
    windows: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    for index, item in enumerate(modules):
        digests = item.lines.digests
        for start in range(len(digests) - MIN_LINES + 1):
            windows.setdefault(tuple(digests[start:start + MIN_LINES]), []).append((index, start))
    best: dict[tuple[int, int], tuple[int, Copy]] = {}  # (second file, start) -> (first file, copy)
    for places in windows.values():
        files = {index for index, _ in places}
        if len(places) < 2 or len(files) > MAX_FILES_PER_WINDOW:
            continue
        for a_index, a_start in places:
            for b_index, b_start in places:
                if (a_index, a_start) >= (b_index, b_start):
                    continue
                # Within one file the copies must not overlap (periodic code would).
                room = b_start - a_start if a_index == b_index else None
                if room is not None and room < MIN_LINES:
                    continue
                a, b = modules[a_index].lines.digests, modules[b_index].lines.digests
                if a_start > 0 and b_start > 0 and a[a_start - 1] == b[b_start - 1]:
                    continue  # inside a longer block found from its own start
                length = MIN_LINES
                while (a_start + length < len(a) and b_start + length < len(b)
                       and a[a_start + length] == b[b_start + length]
                       and (room is None or length < room)):
                    length += 1
                # Shared imports or constants at the edges are not the copied logic.
                kinds = modules[a_index].lines.kinds
                skip = 0
                while skip < length and kinds[a_start + skip] != CODE:
                    skip += 1
                while length > skip and kinds[a_start + length - 1] != CODE:
                    length -= 1
                first, second, length = a_start + skip, b_start + skip, length - skip
                if not (is_substantial(modules[a_index].lines, first, length)
                        and is_substantial(modules[b_index].lines, second, length)):
                    continue
                key = (b_index, second)
                known = best.get(key)
                if known is None or (a_index, first) < (known[0], known[1].first):
                    best[key] = (a_index, Copy(first, second, length))
    pairs: dict[tuple[int, int], list[Copy]] = {}
    for (b_index, _), (a_index, copy) in best.items():
        pairs.setdefault((a_index, b_index), []).append(copy)
    return pairs


@register
class DuplicateCode(ProjectRule):
    """
    ## What it does
    Finds blocks of code copied between files: at least 8 consecutive logical lines (60
    tokens, 5 of them statements that do something) that are equal once local names,
    strings and numbers are normalized, so a copy with renamed variables or other
    messages still matches. Called functions and attribute names are kept, so two
    blocks must do the same calls to match. One finding per pair of files, with every
    shared block on both sides. Tests, migrations, `__init__.py` and generated protobuf
    modules are skipped, and so are blocks made only of imports or of constant and field
    declarations. Copies inside one file are reported too when they do not overlap.

    ## Why is this bad?
    A fix made in one copy is missing in the other: the premium check corrected in the
    bot but not in the API, the retry policy changed in one client only (seed 001 high
    #8, seed 000 section 7). Copies drift apart silently and double the code to review.

    ## Example
    ```python
    def bot_has_premium(user, now):
        if user is None or user.subscription is None:
            return False
        expires = user.subscription.expires_at
        if expires is None:
            return False
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=now.tzinfo)
        remaining = expires - now
        return remaining.total_seconds() > 0 and not user.subscription.cancelled


    def api_has_premium(account, moment):
        if account is None or account.subscription is None:
            return False
        until = account.subscription.expires_at
        if until is None:
            return False
        if until.tzinfo is None:
            until = until.replace(tzinfo=moment.tzinfo)
        left = until - moment
        return left.total_seconds() > 0 and not account.subscription.cancelled
    ```

    ## Use instead
    ```python
    def has_premium(user, now):
        if user is None or user.subscription is None:
            return False
        expires = user.subscription.expires_at
        if expires is None:
            return False
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=now.tzinfo)
        remaining = expires - now
        return remaining.total_seconds() > 0 and not user.subscription.cancelled


    def bot_has_premium(user, now):
        return has_premium(user, now)


    def api_has_premium(account, moment):
        return has_premium(account, moment)
    ```

    ## Known limitations
    Token-based: a copy whose statements were reordered, or with an extra call in the
    middle, is reported as two shorter blocks or not at all. Blocks shared by more than
    12 files are taken as a framework idiom and skipped.
    """

    needs = ("token_lines",)
    meta = RuleMeta(
        id="PA607", slug="duplicate-code", family="architecture",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.INFO, confidence=Confidence.HIGH,
        summary="near-identical code blocks in two files (token-based, normalized names)",
        effort_minutes=30,
        fix="Extract the shared block into one function both files call.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        modules = []
        for summary in project.summaries("source"):
            for lines in summary.facts_of(TokenLines):
                if len(lines.digests) >= MIN_LINES:
                    modules.append(ModuleLines(summary.path, summary.module, lines, summary))
        for (a_index, b_index), copies in sorted(find_copies(modules).items()):
            first, second = modules[a_index], modules[b_index]
            copies.sort(key=lambda c: c.second)
            evidence: list[Evidence] = []
            total = 0
            for copy in copies:
                a_start, a_end = physical(first.lines, copy.first, copy.length)
                b_start, b_end = physical(second.lines, copy.second, copy.length)
                total += b_end - b_start + 1
                if len(evidence) < 8:
                    original = Evidence(Location(first.path, a_start, end_line=a_end),
                                        f"lines {a_start}-{a_end} of {first.path} "
                                        f"(in `{enclosing(first.summary, a_start)}`)")
                    if original not in evidence:
                        evidence.append(original)
                    evidence.append(Evidence(Location(second.path, b_start, end_line=b_end),
                                             f"same code at lines {b_start}-{b_end} of {second.path} "
                                             f"(in `{enclosing(second.summary, b_start)}`)"))
            head = copies[0]
            b_start, b_end = physical(second.lines, head.second, head.length)
            where = enclosing(second.summary, b_start)
            blocks = f"{len(copies)} blocks, " if len(copies) > 1 else ""
            yield self.finding(
                f"{second.path}:{b_start}-{b_end} duplicates {first.path}"
                f":{physical(first.lines, head.first, head.length)[0]} ({blocks}{total} lines "
                f"shared): a fix in one copy misses the other",
                Location(second.path, b_start, end_line=b_end),
                severity=Severity.LOW if total >= LOW_FROM_LINES else Severity.INFO,
                evidence=evidence,
                anchor=f"{second.module}:{where}~{first.module}",
                details={"blocks": len(copies), "duplicated_lines": total},
            )
