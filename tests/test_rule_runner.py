"""Project rules shared with forked helpers give the same outcomes as one process."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from prodaudit import rule_runner
from prodaudit.engine import AuditOptions, run_audit, selected_rules
from prodaudit.errors import INTERNAL_ERROR_RULE
from prodaudit.model.project import Project
from prodaudit.rule_runner import run_project_rules
from prodaudit.rules.base import ProjectRule

EXAMPLE = Path(__file__).parents[1] / "examples" / "shopapi"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="helpers are forked on Linux only")


def example_project() -> tuple[Project, list[type[ProjectRule]]]:
    result = run_audit(EXAMPLE, AuditOptions(use_cache=False, run_rules=False))
    assert result.project is not None
    rules = [rule for rule in selected_rules(result.project.config) if issubclass(rule, ProjectRule)]
    return result.project, rules


def tagged_with_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each outcome names the process that ran its rule; every rule takes a little while,
    so the helper has started before the parent runs out of rules."""
    run_one = rule_runner._run_one

    def run_and_tag(project, cls, index):
        time.sleep(0.02)
        outcome = run_one(project, cls, index)
        return replace(outcome, rule_id=f"{outcome.rule_id}@{os.getpid()}")

    monkeypatch.setattr(rule_runner, "_run_one", run_and_tag)


def test_helpers_share_the_rules_and_outcomes_keep_the_rules_order(monkeypatch) -> None:
    project, rules = example_project()
    assert len(rules) > 20
    serial = run_project_rules(project, rules, helpers=0)
    tagged_with_process(monkeypatch)
    shared = run_project_rules(project, rules, helpers=1)

    assert [o.rule_id.split("@")[0] for o in shared] == [rule.meta.id for rule in rules]
    assert [o.findings for o in shared] == [o.findings for o in serial]
    assert any(o.findings for o in serial)  # the comparison covers real findings
    processes = {o.rule_id.split("@")[1] for o in shared}
    assert str(os.getpid()) in processes and len(processes) == 2


def test_a_rule_crashing_in_a_helper_becomes_an_internal_error_finding(monkeypatch) -> None:
    project, rules = example_project()
    crashing = rules[-1]  # the last rule: the parent is busy by then, either may run it

    def crash(self, project):
        raise RuntimeError("boom")

    monkeypatch.setattr(crashing, "check_project", crash)
    monkeypatch.setenv("PRODAUDIT_STRICT", "0")
    tagged_with_process(monkeypatch)
    outcomes = run_project_rules(project, rules, helpers=1)
    last = outcomes[-1]
    assert last.rule_id.startswith(crashing.meta.id)
    assert [f.rule_id for f in last.findings] == [INTERNAL_ERROR_RULE]
    assert f"Rule {crashing.meta.id} crashed" in last.findings[0].message
    assert "RuntimeError" in last.findings[0].message

    monkeypatch.setenv("PRODAUDIT_STRICT", "1")  # tests: a crash must fail, from any process
    with pytest.raises(RuntimeError, match="boom"):
        run_project_rules(project, rules, helpers=1)


def test_few_rules_or_no_helpers_run_in_this_process(monkeypatch) -> None:
    project, rules = example_project()
    tagged_with_process(monkeypatch)
    for chosen, helpers in ((rules[:1], 3), (rules, 0)):
        outcomes = run_project_rules(project, chosen, helpers)
        assert {o.rule_id.split("@")[1] for o in outcomes} == {str(os.getpid())}


def test_progress_counts_rules_started_up_to_all(monkeypatch) -> None:
    project, rules = example_project()
    for helpers in (0, 1):
        heard: list[tuple[str, int, int]] = []
        run_project_rules(project, rules, helpers, lambda *call, record=heard.append: record(call))
        assert heard[-1] == ("rules", len(rules), len(rules))
        counts = [done for _, done, _ in heard]
        assert counts == sorted(counts) and counts[0] >= 1
