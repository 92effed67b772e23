"""The report as a tree of plain blocks, written once (report/sections.py) and serialised
twice (report/markdown.py, report/html.py), so the Markdown and HTML reports cannot drift
apart in content.

Inline text is a tuple of spans. Repository content (paths, code, names, messages) is
always carried as data here and escaped by the serialiser, never pre-formatted.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# -- inline spans --------------------------------------------------------------------------
@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Strong:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    target: str  # "#anchor" inside the report


@dataclass(frozen=True)
class Badge:
    """A severity, verdict or rating label; `kind` picks the colour in HTML."""

    text: str
    kind: str


@dataclass(frozen=True)
class Rich:
    """Text from a rule message: `backticks` mark code, everything else is plain text."""

    text: str


Inline = Text | Code | Strong | Link | Badge | Rich
Spans = tuple[Inline, ...]


def spans(*parts: Inline | str) -> Spans:
    return tuple(Text(p) if isinstance(p, str) else p for p in parts)


# -- blocks ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Heading:
    level: int  # 2..4 (the report title is level 1)
    text: str
    anchor: str  # stable id; Markdown links use GitHub's slug of `text` instead


@dataclass(frozen=True)
class Paragraph:
    content: Spans


@dataclass(frozen=True)
class BulletList:
    items: tuple[Spans, ...]
    checklist: bool = False
    ordered: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Spans, ...], ...]
    numeric: tuple[int, ...] = ()  # column indexes aligned right


@dataclass(frozen=True)
class CodeBlock:
    code: str
    language: str = "python"
    first_line: int = 0  # line number of the first line, 0 = none shown


@dataclass(frozen=True)
class Group:
    """A container with filter attributes (HTML: data-severity / data-dimension)."""

    children: tuple[Block, ...]
    severity: str = ""
    dimension: str = ""
    count: int = 0  # findings inside (the HTML filter shows how many match)


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars (HTML draws SVG; Markdown skips it: the table beside it has the numbers)."""

    title: str
    bars: tuple[tuple[str, float, str], ...]  # label, value, colour kind
    maximum: float
    unit: str = ""


@dataclass(frozen=True)
class Section:
    heading: Heading
    children: tuple[Block, ...] = field(default=())


Block = Heading | Paragraph | BulletList | Table | CodeBlock | Group | BarChart | Section


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: Spans
    lang: str
    sections: tuple[Section, ...]
    # HTML filter labels: (value, shown label)
    severities: tuple[tuple[str, str], ...] = ()
    dimensions: tuple[tuple[str, str], ...] = ()
    filter_labels: tuple[str, str, str] = ("Severity", "Dimension", "all")
