"""The report as GitHub-flavoured Markdown.

Repository text is escaped (backslash before Markdown punctuation, code spans with a fence
longer than any backtick run inside), so a file named `<script>` or a message with `|`
cannot break a table or inject HTML. Links point at GitHub's own heading slugs, computed
the way GitHub computes them, so the table of contents never has a broken anchor.
"""

from __future__ import annotations

import re

from prodaudit.findings import AuditResult
from prodaudit.report.blocks import (
    Badge,
    BarChart,
    Block,
    BulletList,
    Code,
    CodeBlock,
    Document,
    Group,
    Heading,
    Inline,
    Link,
    Paragraph,
    Rich,
    Section,
    Strong,
    Table,
    Text,
)

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~])")


def render_markdown(result: AuditResult, lang: str = "en", date: str = "") -> str:
    from prodaudit.report.sections import build_document

    return serialize(build_document(result, lang, date))


def github_slug(text: str) -> str:
    """GitHub's heading id: lower case, punctuation dropped, spaces to hyphens (not collapsed)."""
    kept = "".join(ch for ch in text.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


class _Slugs:
    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.by_anchor: dict[str, str] = {}

    def add(self, heading: Heading) -> None:
        base = github_slug(heading.text)
        count = self.seen.get(base, 0)
        self.seen[base] = count + 1
        slug = base if count == 0 else f"{base}-{count}"
        self.by_anchor.setdefault(heading.anchor, slug)


def _headings(blocks) -> list[Heading]:
    found: list[Heading] = []
    for block in blocks:
        if isinstance(block, Section):
            found.append(block.heading)
            found.extend(_headings(block.children))
        elif isinstance(block, Heading):
            found.append(block)
        elif isinstance(block, Group):
            found.extend(_headings(block.children))
    return found


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def code_span(text: str) -> str:
    text = text.replace("\r", " ").replace("\n", " ")
    if not text:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.strip()) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def rich(text: str) -> str:
    """Rule messages mark code with single backticks: keep those as code, escape the rest."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # unbalanced backticks: treat all of it as text
        return escape(text)
    return "".join(code_span(part) if index % 2 else escape(part) for index, part in enumerate(parts))


class _Writer:
    def __init__(self, slugs: _Slugs) -> None:
        self.slugs = slugs
        self.lines: list[str] = []

    def inline(self, part: Inline, cell: bool = False) -> str:
        if isinstance(part, Text):
            out = escape(part.text)
        elif isinstance(part, Code):
            out = code_span(part.text)
        elif isinstance(part, Strong):
            out = f"**{escape(part.text)}**" if part.text else ""
        elif isinstance(part, Badge):
            out = f"**{escape(part.text)}**"
        elif isinstance(part, Link):
            slug = self.slugs.by_anchor.get(part.target.lstrip("#"), part.target.lstrip("#"))
            out = f"[{escape(part.text)}](#{slug})"
        elif isinstance(part, Rich):
            out = rich(part.text)
        else:  # pragma: no cover - every span type is handled above
            raise TypeError(part)
        if cell:
            # Inside a table a pipe ends the cell, even in a code span: GFM wants it escaped.
            out = re.sub(r"(?<!\\)\|", r"\\|", out)
        return out

    def spans(self, parts, cell: bool = False) -> str:
        return "".join(self.inline(p, cell) for p in parts)

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def block(self, block: Block) -> None:
        if isinstance(block, Section):
            self.block(block.heading)
            for child in block.children:
                self.block(child)
        elif isinstance(block, Heading):
            self.blank()
            self.lines.append("#" * block.level + " " + escape(block.text))
            self.lines.append("")
        elif isinstance(block, Paragraph):
            self.blank()
            self.lines.append(self.spans(block.content))
            self.lines.append("")
        elif isinstance(block, BulletList):
            self.blank()
            for index, item in enumerate(block.items, 1):
                marker = "- [ ] " if block.checklist else (f"{index}. " if block.ordered else "- ")
                self.lines.append(marker + self.spans(item))
            self.lines.append("")
        elif isinstance(block, Table):
            self.blank()
            self.lines.append("| " + " | ".join(escape(h) for h in block.headers) + " |")
            self.lines.append("|" + "|".join("---:" if i in block.numeric else "---"
                                             for i in range(len(block.headers))) + "|")
            for row in block.rows:
                cells = [self.spans(cell, cell=True) or " " for cell in row]
                self.lines.append("| " + " | ".join(cells) + " |")
            self.lines.append("")
        elif isinstance(block, CodeBlock):
            self.blank()
            longest = max((len(run) for run in re.findall(r"`{3,}", block.code)), default=2)
            fence = "`" * (longest + 1)
            self.lines.append(fence + block.language)
            self.lines.extend(block.code.replace("\r", "").split("\n"))
            self.lines.append(fence)
            self.lines.append("")
        elif isinstance(block, Group):
            for child in block.children:
                self.block(child)
        elif isinstance(block, BarChart):
            return  # the table next to it carries the same numbers
        else:  # pragma: no cover
            raise TypeError(block)


def serialize(document: Document) -> str:
    slugs = _Slugs()
    for heading in _headings(document.sections):
        slugs.add(heading)
    writer = _Writer(slugs)
    writer.lines.append("# " + escape(document.title))
    writer.lines.append("")
    writer.lines.append(writer.spans(document.subtitle))
    writer.lines.append("")
    for section in document.sections:
        writer.block(section)
    while writer.lines and writer.lines[-1] == "":
        writer.lines.pop()
    return "\n".join(writer.lines) + "\n"
