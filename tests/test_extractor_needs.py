"""The summary step runs only the extractors the selected rules need (`Rule.needs`).

The fixture runner checks each rule's list is complete; here: the names are real, an
audit of unrelated rules skips an extractor, and the report reads no facts beyond
REPORT_NEEDS.
"""

from __future__ import annotations

from pathlib import Path

from prodaudit.engine import AuditOptions, needed_extractors, run_audit
from prodaudit.model.extractors import REPORT_NEEDS, extractor_names
from prodaudit.model.extractors.await_races import CheckThenAct
from prodaudit.report.html import render_html
from prodaudit.report.json_report import render_json
from prodaudit.report.markdown import render_markdown
from prodaudit.report.sarif import render_sarif
from prodaudit.rules.base import all_rules

FIXTURE = Path(__file__).parent / "fixtures" / "concurrency" / "check-then-act-across-await"
EXAMPLE = Path(__file__).parents[1] / "examples" / "shopapi"


def test_needs_name_real_extractors() -> None:
    known = set(extractor_names())
    unknown = {(cls.meta.id, name) for cls in all_rules() for name in cls.needs if name not in known}
    assert sorted(unknown) == []
    assert set(REPORT_NEEDS) <= known


def test_only_needed_extractors_run() -> None:
    def race_facts(select: tuple[str, ...]) -> int:
        result = run_audit(FIXTURE, AuditOptions(use_cache=False, select=select))
        return sum(len(m.facts_of(CheckThenAct)) for m in result.project.modules.values())

    assert race_facts(("PA105",)) > 0
    assert race_facts(("PA501",)) == 0


def test_inventory_runs_every_extractor() -> None:
    assert needed_extractors([], run_rules=False) is None
    assert needed_extractors([], run_rules=True) == tuple(sorted(REPORT_NEEDS))


def test_report_reads_only_report_needs(asked_extractors: set[str]) -> None:
    result = run_audit(EXAMPLE, AuditOptions(use_cache=False, select=("PA001",)))
    asked_extractors.clear()  # what the report asks for, not the audit
    for render in (render_json, render_markdown, render_html, render_sarif):
        render(result)
    assert asked_extractors, "the report reads no extractor facts: is this test still measuring anything?"
    assert sorted(asked_extractors - set(REPORT_NEEDS) - {""}) == []
