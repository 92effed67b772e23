"""Project rules, run in this process or shared with forked helper processes.

Once the summaries exist, project rules are independent of each other: each asks the
project model questions and returns findings. On a large tree they take seconds of CPU
after the summary workers have finished, while the other cores sit idle. So when the tree
is large and more than one job is allowed (on Linux, where fork shares the built project
without pickling it), helpers are forked: every process takes the next rule from a shared
counter until none is left, builds the models its rules ask for (a model asked for in two
processes is built in both: CPU spent for wall time saved) and the helpers send their
findings back. Outcomes are put back in the rules' order, so the findings are the same,
in the same order, as in a serial run.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prodaudit.errors import internal_error_finding, strict_mode
from prodaudit.findings import Finding
from prodaudit.model.project import Project
from prodaudit.rules.base import ProjectRule

# More helpers than this mostly rebuild the same models in more processes.
MAX_HELPERS = 3


@dataclass(frozen=True)
class RuleOutcome:
    index: int  # position in the rules run, to restore their order
    rule_id: str
    findings: tuple[Finding, ...]
    # The rule's own time: without the models it was first to ask for (those are charged
    # to the model stage, see model_property).
    seconds: float
    model_seconds: float


# What the helpers work on, set just before they are forked (fork copies it; nothing is
# pickled on the way in) and cleared after.
_WORK: tuple[Project, Sequence[type[ProjectRule]], object] | None = None


def run_project_rules(project: Project, rules: Sequence[type[ProjectRule]], helpers: int,
                      progress: Callable[[str, int, int], None] | None = None) -> list[RuleOutcome]:
    """Every rule's outcome, in the order of `rules`; with `helpers` forked processes
    sharing the work when that is possible (else all in this process). `progress` hears
    ("rules", rules started, all rules) from this process as its own rules finish."""
    helpers = min(helpers, MAX_HELPERS, len(rules) - 1)
    if helpers < 1 or sys.platform != "linux":
        outcomes = []
        for index, rule in enumerate(rules):
            outcomes.append(_run_one(project, rule, index))
            if progress:
                progress("rules", index + 1, len(rules))
        return outcomes
    from concurrent.futures import ProcessPoolExecutor

    global _WORK
    context = multiprocessing.get_context("fork")
    next_rule = context.Value("i", 0)
    _WORK = (project, rules, next_rule)
    try:
        with ProcessPoolExecutor(max_workers=helpers, mp_context=context) as pool:
            futures = [pool.submit(_help) for _ in range(helpers)]
            outcomes = []
            for outcome in _take_rules(project, rules, next_rule):
                outcomes.append(outcome)
                if progress:
                    progress("rules", min(next_rule.value, len(rules)), len(rules))
            if progress:  # every rule has started; the helpers may still be finishing theirs
                progress("rules", len(rules), len(rules))
            for future in futures:
                outcomes.extend(pickle.loads(future.result()))
    finally:
        _WORK = None
    return sorted(outcomes, key=lambda outcome: outcome.index)


def _help() -> bytes:
    """In a forked helper: run rules until none is left; their outcomes, pickled once."""
    assert _WORK is not None, "helpers are forked with the work set"
    project, rules, next_rule = _WORK
    return pickle.dumps(list(_take_rules(project, rules, next_rule)),
                        protocol=pickle.HIGHEST_PROTOCOL)


def _take_rules(project: Project, rules: Sequence[type[ProjectRule]],
                next_rule) -> Iterator[RuleOutcome]:
    while True:
        with next_rule.get_lock():
            index = next_rule.value
            next_rule.value += 1
        if index >= len(rules):
            return
        yield _run_one(project, rules[index], index)


def _run_one(project: Project, cls: type[ProjectRule], index: int) -> RuleOutcome:
    started = time.perf_counter()
    models_before = project.model_seconds
    try:
        findings = tuple(cls().check_project(project))
    except Exception as exc:
        if strict_mode():
            raise
        findings = (internal_error_finding(cls.meta.id, "", exc),)
    model_seconds = project.model_seconds - models_before
    return RuleOutcome(index, cls.meta.id, findings,
                       time.perf_counter() - started - model_seconds, model_seconds)
