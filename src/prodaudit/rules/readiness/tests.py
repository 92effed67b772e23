from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.tests import TestCaseFact
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class Tests(ProjectRule):
    """
    ## What it does
    States the test inventory as facts: no tests at all (a project-level finding, medium),
    test functions with no assertion (no `assert`, no `pytest.raises`, no unittest
    `self.assert*`, no mock assertion: low) and tests that only assert on mocks (info). Counted over test files
    (tests/ folders, test_*.py, *_test.py, conftest.py), functions named test* at module
    level or in Test* classes.

    ## Why is this bad?
    A test with no assertion only fails when the code raises: a wrong result passes. It
    inflates the test count and the coverage figure without checking behaviour (seed 004
    6.1, seed 001 #21). Sometimes "does not raise" is the intent; then say so with
    `pytest.raises`' opposite, an explicit assertion on the result. A test
    that only checks that a mock was called verifies the wiring, not the behaviour.

    ## Example
    ```python
    def test_create_order():
        create_order = lambda: {"id": 1}
        create_order()
    ```

    ## Use instead
    ```python
    def test_create_order():
        create_order = lambda: {"id": 1}
        assert create_order()["id"] == 1
    ```

    ## Known limitations
    Assertions made in helper functions are recognised only when the helper's name starts
    with `assert`; fixtures that assert on teardown are not seen. Smoke tests whose point
    is "does not raise" are reported too (low): suppress them with that reason.
    """

    needs = ("tests",)
    meta = RuleMeta(
        id="PA901", slug="tests", family="readiness", dimension=Dimension.READINESS,
        severity=Severity.LOW, summary="no tests, tests that assert nothing, tests that only assert on mocks",
        effort_minutes=20, file_kinds=("test",),
        fix="Give every test an assertion on the behaviour it is named after.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        tests = project.summaries("test")
        sources = project.summaries("source")
        if sources and not tests:
            yield self.finding(
                f"No tests: 0 test files next to {len(sources)} source modules",
                Location(""), severity=Severity.MEDIUM, confidence=Confidence.HIGH, anchor="no-tests",
                evidence=[Evidence(Location(""), "searched: tests/ and test/ folders, test_*.py, "
                                                 "*_test.py, conftest.py; none found")],
                fix="Start with tests for the request paths that move money or data.")
            return
        for module in tests:
            for case in module.facts_of(TestCaseFact):
                if case.asserts == 0 and case.mock_asserts == 0:
                    yield self.finding(
                        f"Test `{case.qualname}` has no assertion: it fails only if the code raises",
                        Location(module.path, case.line), anchor=f"{module.module}:{case.qualname}")
                elif case.asserts == 0:
                    yield self.finding(
                        f"Test `{case.qualname}` only asserts that mocks were called ({case.mock_asserts} "
                        f"mock assertions): it checks wiring, not behaviour",
                        Location(module.path, case.line), severity=Severity.INFO,
                        anchor=f"{module.module}:{case.qualname}")
