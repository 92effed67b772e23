"""Golden snapshots of every report format for examples/shopapi with --date 2026-01-01.

The comparison is exact. When a rule, the model or a renderer changes the output on
purpose, regenerate and review the diff (tests/snapshots/README.md):

    PRODAUDIT_UPDATE_SNAPSHOTS=1 PYTHONPATH=src:tests python -m pytest tests/test_report_snapshots.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import jsonschema
import pytest
from report_projects import DATE, ROOT, shopapi_result

from prodaudit.report.html import render_html
from prodaudit.report.json_report import render_json
from prodaudit.report.markdown import render_markdown
from prodaudit.report.sarif import render_sarif

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PRODAUDIT_UPDATE_SNAPSHOTS") == "1"
FORMATS = {
    "shopapi.json": lambda r: render_json(r, DATE),
    "shopapi.sarif": lambda r: render_sarif(r, DATE),
    "shopapi.md": lambda r: render_markdown(r, "en", DATE),
    "shopapi.ru.md": lambda r: render_markdown(r, "ru", DATE),
    "shopapi.html": lambda r: render_html(r, "en", DATE),
    "shopapi.ru.html": lambda r: render_html(r, "ru", DATE),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_snapshot(name: str) -> None:
    text = FORMATS[name](shopapi_result())
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}: run with PRODAUDIT_UPDATE_SNAPSHOTS=1")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(list(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                 f"snapshot/{name}", f"now/{name}"))[:80])
        pytest.fail(f"{name} differs from its snapshot (regenerate with PRODAUDIT_UPDATE_SNAPSHOTS=1 "
                    f"if the change is intended; see tests/snapshots/README.md):\n{diff}")


def test_json_snapshot_matches_the_documented_schema() -> None:
    schema = json.loads((ROOT / "docs/schema/report.schema.json").read_text())
    jsonschema.validate(json.loads(FORMATS["shopapi.json"](shopapi_result())), schema)


def test_report_dir_writes_every_format(tmp_path: Path) -> None:
    from prodaudit.cli import main

    for lang in ("en", "ru"):
        code = main(["audit", str(ROOT / "examples" / "shopapi"), "--no-cache", "--no-progress",
                     "--date", DATE, "--lang", lang, "--report-dir", str(tmp_path)])
        assert code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["report.html", "report.json", "report.md", "report.ru.html", "report.ru.md",
                     "report.sarif"]
    assert (tmp_path / "report.ru.md").read_text(encoding="utf-8") == FORMATS["shopapi.ru.md"](shopapi_result())
