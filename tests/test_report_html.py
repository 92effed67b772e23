"""The HTML report: self-contained, escaped, and working in a real headless Chromium.

The browser tests need Debian's `chromium` and the `playwright` package (dev extra); they
are skipped with the reason when either is missing (.ci/run installs both under CI)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from prodaudit.rules.base import all_rules

DIMENSION_OF = {rule.meta.id: rule.meta.dimension.value for rule in all_rules()}
from report_projects import DATE, PAYLOAD, hostile_result, shopapi_result

from prodaudit.report.html import highlight, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> None:
    tags = elements(html)
    assert [t for t, _ in tags].count("script") == 1
    assert not [t for t, _ in tags if t in ("img", "iframe", "object", "embed", "textarea", "b", "link")]
    for tag, attrs in tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src"):
            value = attrs.get(name) or ""
            assert not value or value.startswith("#") or name == "xmlns", (tag, attrs)
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https://(?!json)", html.split("<main>")[0])


def test_example_page_is_self_contained_and_inert() -> None:
    html = render_html(shopapi_result(), "en", DATE)
    assert_inert(html)
    assert "Content-Security-Policy" in html and "unsafe-inline" not in html
    assert html.count("<svg") == 2 and 'data-severity="critical"' in html
    assert render_html(shopapi_result(), "en", DATE) == html


def test_hostile_content_is_escaped(tmp_path: Path) -> None:
    html = render_html(hostile_result(tmp_path), "en", DATE)
    assert_inert(html)
    assert PAYLOAD not in html and "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "</textarea>" not in html and "onerror=window" not in html.replace("&lt;img src=x onerror=window", "")
    assert 'evil&quot;&lt;script&gt;' in html


def test_highlighter_escapes_every_token() -> None:
    out = highlight('x = "<b>" # <i>\nif a: return 1')
    assert "<b>" not in out and "<i>" not in out
    assert '<span class="st">&quot;&lt;b&gt;&quot;</span>' in out
    assert '<span class="kw">if</span>' in out and '<span class="nu">1</span>' in out


def browser():
    if CHROMIUM is None:
        pytest.skip("Debian package `chromium` is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("python package `playwright` is not installed (pip install -e '.[dev]')")
    return sync_playwright


def open_page(sync_playwright, path: Path, width: int):
    manager = sync_playwright().start()
    chromium = manager.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    page = chromium.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url) if not r.url.startswith("file://") else None)
    page.goto(path.as_uri())
    return manager, chromium, page, problems, requests


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_page_in_chromium_loads_filters_and_renders(tmp_path: Path, lang: str) -> None:
    sync_playwright = browser()
    path = tmp_path / f"report.{lang}.html"
    path.write_text(render_html(shopapi_result(), lang, DATE), encoding="utf-8")
    manager, chromium, page, problems, requests = open_page(sync_playwright, path, 1280)
    try:
        total = int(page.eval_on_selector("#f-count", "e => e.value"))
        assert total == len(shopapi_result().findings)
        page.select_option("#f-severity", "critical")
        visible = page.eval_on_selector_all(".group[data-dimension]:not([hidden])", "gs => gs.map(g => g.dataset.severity)")
        assert visible and set(visible) == {"critical"}
        critical = sum(1 for f in shopapi_result().findings if f.severity.value == "critical")
        assert int(page.eval_on_selector("#f-count", "e => e.value")) == critical
        page.select_option("#f-severity", "")
        page.select_option("#f-dimension", "security")
        dims = page.eval_on_selector_all(".group[data-dimension]:not([hidden])", "gs => gs.map(g => g.dataset.dimension)")
        assert dims and set(dims) == {"security"}
        # A severity block with no finding of the chosen dimension hides as a whole.
        security = {f.severity.value for f in shopapi_result().findings
                    if f.rule_id in DIMENSION_OF and DIMENSION_OF[f.rule_id] == "security"}
        for severity in ("critical", "high", "medium", "low", "info"):
            hidden = page.eval_on_selector_all(f'.group[data-severity="{severity}"]:not([data-dimension])',
                                               "gs => gs.map(g => g.hidden)")
            if hidden:
                assert hidden == [severity not in security], severity
        page.select_option("#f-dimension", "")
        page.screenshot(path=str(tmp_path / f"desktop.{lang}.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(tmp_path / f"phone.{lang}.png"))
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, "the page scrolls sideways on a phone"
        assert (tmp_path / f"desktop.{lang}.png").stat().st_size > 10_000
    finally:
        chromium.close()
        manager.stop()
    assert problems == []
    assert requests == []


def test_hostile_page_executes_nothing_in_chromium(tmp_path: Path) -> None:
    sync_playwright = browser()
    path = tmp_path / "hostile.html"
    path.write_text(render_html(hostile_result(tmp_path / "src"), "en", DATE), encoding="utf-8")
    manager, chromium, page, problems, requests = open_page(sync_playwright, path, 1024)
    try:
        assert page.evaluate("window.__pwned === undefined")
        assert page.evaluate("document.scripts.length") == 1
        assert page.evaluate("document.querySelectorAll('img, textarea, iframe').length") == 0
        body = page.inner_text("main")
        assert "<script>window.__pwned=1</script>" in body  # shown as text
        page.screenshot(path=str(tmp_path / "hostile.png"))
    finally:
        chromium.close()
        manager.stop()
    assert problems == [] and requests == []
