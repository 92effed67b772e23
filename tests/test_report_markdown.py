"""The Markdown report: every section of issue 7 in order, links that resolve to GitHub's
heading slugs, well-formed tables, and repository text that cannot inject anything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_projects import DATE, PAYLOAD, hostile_result, shopapi_result

from prodaudit.report.i18n import Catalog
from prodaudit.report.markdown import code_span, escape, github_slug, render_markdown, rich
from prodaudit.report.sections import SECTION_KEYS


def headings(markdown: str) -> list[tuple[int, str]]:
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"^(#{1,6}) (.*)$", line)):
            found.append((len(match.group(1)), match.group(2)))
    return found


def slugs_of(markdown: str) -> set[str]:
    seen: dict[str, int] = {}
    slugs = set()
    for _, text in headings(markdown):
        # Heading text is escaped Markdown; GitHub slugs the rendered text.
        base = github_slug(re.sub(r"\\(.)", r"\1", text))
        count = seen.get(base, 0)
        seen[base] = count + 1
        slugs.add(base if count == 0 else f"{base}-{count}")
    return slugs


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_sections_in_order_and_links_resolve(lang: str) -> None:
    markdown = render_markdown(shopapi_result(), lang, DATE)
    catalog = Catalog(lang)
    level2 = [text for level, text in headings(markdown) if level == 2]
    assert level2 == [f"{n}. {catalog.t('section.' + key)}" for n, key in enumerate(SECTION_KEYS, 1)]
    slugs = slugs_of(markdown)
    links = re.findall(r"\]\(#([^)]+)\)", markdown)
    assert len(links) == len(SECTION_KEYS)
    assert all(link in slugs for link in links), [link for link in links if link not in slugs]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_tables_have_as_many_cells_as_headers(lang: str) -> None:
    lines = render_markdown(shopapi_result(), lang, DATE).splitlines()
    for index, line in enumerate(lines):
        if line.startswith("|") and index + 1 < len(lines) and re.match(r"^\|(-+:?\|)+$", lines[index + 1]):
            width = len(re.split(r"(?<!\\)\|", line)) - 2
            row = index + 2
            while row < len(lines) and lines[row].startswith("|"):
                assert len(re.split(r"(?<!\\)\|", lines[row])) - 2 == width, lines[row]
                row += 1


def test_example_report_has_real_content() -> None:
    markdown = render_markdown(shopapi_result(), "en", DATE)
    for needle in ("**NOT READY**", "PA103", "`app/routers/auth.py:37`", "### Blockers",
                   "What the verdict assumes", "| Web framework | FastAPI |", "Endpoints (",
                   "Module-level state", "Dependency matrix", "Suppressed findings (0)",
                   "Debt ratio", "max\\_connections = 50", "### P0: before production",
                   "- [ ] **PA103**", "Rules that ran (", "Nothing was executed"):
        assert needle in markdown, needle
    russian = render_markdown(shopapi_result(), "ru", DATE)
    for needle in ("**НЕ ГОТОВ**", "### Блокеры", "Из чего исходит вердикт", "Матрица зависимостей",
                   "### P0: до продакшена", "Ничего не исполнялось", "счётчики rate limit в памяти процесса"):
        assert needle in russian, needle


def test_same_input_same_bytes() -> None:
    first = render_markdown(shopapi_result(), "ru", DATE)
    assert render_markdown(shopapi_result(), "ru", DATE) == first
    assert DATE in first and DATE not in render_markdown(shopapi_result(), "ru")


def test_escaping_helpers() -> None:
    assert escape("a|b <i>*x*</i> [l](u) `c`") == r"a\|b \<i\>\*x\*\</i\> \[l\](u) \`c\`"
    assert code_span("a`b") == "``a`b``" and code_span("`x`") == "`` `x` ``"
    assert rich("Loop `run` <b>") == r"Loop `run` \<b\>"
    assert rich("odd ` tick") == r"odd \` tick"
    assert github_slug("1. Executive summary") == "1-executive-summary"
    assert github_slug("Critical · Security (3)") == "critical--security-3"
    assert github_slug("1. Краткое резюме") == "1-краткое-резюме"


def test_hostile_repository_text_stays_text(tmp_path: Path) -> None:
    markdown = render_markdown(hostile_result(tmp_path), "en", DATE)
    outside_code = []
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            outside_code.append(re.sub(r"(`+).*?\1", "", line))
    plain = "\n".join(outside_code)
    # Outside code, every "<" is backslash-escaped: GitHub shows it, never parses a tag.
    assert not re.search(r"(?<!\\)<", plain), re.findall(r".{20}(?<!\\)<.{20}", plain)
    assert PAYLOAD in markdown  # shown, inside code
    assert "reason with" in markdown  # the suppression and its reason are listed
