"""The one parametrized runner over every fixture directory: tests/fixtures/<family>/<slug>/
(or <slug>--<variant>/ when a rule needs several mini projects).

For each directory, the rules named by its markers (and the rule its name is the slug of)
must report exactly the marked (file, line, rule) set. Then every marker is turned into an
ignore comment and those findings must all move to the suppressed list. Findings of other
rules are not compared here: each rule's own fixtures judge it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from markers import read_markers, with_ignore_comments

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.model.extractors import REPORT_NEEDS
from prodaudit.rules.base import all_rules

FIXTURES = Path(__file__).parent / "fixtures"
SLUGS = {cls.meta.slug: cls.meta.id for cls in all_rules()}
RULES = {cls.meta.id: cls for cls in all_rules()}


def fixture_dirs() -> list[Path]:
    # model/ and projects/ hold mini projects for other tests, not rule fixtures
    return sorted(d for d in FIXTURES.glob("*/*") if d.is_dir() and d.parent.name not in ("model", "projects"))


def rules_under_test(directory: Path, markers) -> set[str]:
    rules = {m.rule_id for m in markers}
    slug = directory.name.split("--")[0]  # <slug>--<variant> for several fixture projects
    if slug in SLUGS:
        rules.add(SLUGS[slug])
    return rules


def audit(directory: Path, rules: set[str] | None = None):
    return run_audit(directory, AuditOptions(use_cache=False, select=tuple(sorted(rules)) if rules else ()))


@pytest.mark.parametrize("directory", fixture_dirs(), ids=lambda d: f"{d.parent.name}/{d.name}")
def test_fixture(directory: Path, tmp_path: Path, asked_extractors: set[str]) -> None:
    if directory.name.endswith("--py312") and sys.version_info < (3, 12):
        pytest.skip("the fixture uses Python 3.12 syntax (PEP 695)")
    markers = read_markers(directory)
    rules = rules_under_test(directory, markers)
    assert rules, f"{directory}: not named after a rule slug and no markers"
    result = audit(directory, rules)
    # Only the extractors the selected rules name run: a rule that reads facts of another
    # one would silently see none.
    declared = {name for rule in rules for name in RULES[rule].needs} | set(REPORT_NEEDS)
    assert sorted(asked_extractors - declared - {""}) == [], f"facts read by {sorted(rules)} but not in their `needs`"
    got = {(f.location.path, f.location.line, f.rule_id) for f in result.findings if f.rule_id in rules}
    expected = {(m.path, m.target, m.rule_id) for m in markers if not m.todo}
    known_misses = {(m.path, m.target, m.rule_id) for m in markers if m.todo}
    assert sorted(got - expected) == [], "reported but not marked (false positives)"
    assert sorted(expected - got) == [], "marked but not reported (misses)"
    fixed = sorted(known_misses & got)
    assert fixed == [], "todo-expect now reported: turn these markers into expect"

    copy = tmp_path / directory.name
    shutil.copytree(directory, copy)
    with_ignore_comments(copy, markers)
    rerun = audit(copy, rules)
    python_expected = {e for e in expected if e[0].endswith(".py")}
    left = {(f.location.path, f.location.line, f.rule_id) for f in rerun.findings if f.rule_id in rules}
    assert sorted(left & python_expected) == [], "not suppressed by an ignore comment"
    silenced = {(s.finding.location.path, s.finding.location.line, s.finding.rule_id)
                for s in rerun.suppressed}
    assert python_expected <= silenced


def test_every_rule_has_fixtures() -> None:
    covered = {d.name.split("--")[0] for d in fixture_dirs()}
    missing = sorted(cls.meta.slug for cls in all_rules()
                     if cls.meta.slug not in covered and cls.meta.slug != "internal-error")
    assert missing == []


def test_all_rules_over_all_fixtures_do_not_crash() -> None:
    # PRODAUDIT_STRICT=1 (conftest) makes a crashing rule raise here.
    for directory in fixture_dirs():
        result = audit(directory)
        assert not [f for f in result.findings if f.rule_id == "PA002"], directory
