from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

CI_FILES = (".github/workflows", ".gitlab-ci.yml", ".circleci/config.yml", "Jenkinsfile",
            "azure-pipelines.yml", ".travis.yml", "bitbucket-pipelines.yml", ".drone.yml",
            ".woodpecker.yml", ".buildkite", "cloudbuild.yaml", ".ci")


@register
class NoCi(ProjectRule):
    """
    ## What it does
    Reports a project with no continuous-integration configuration: none of
    .github/workflows/, .gitlab-ci.yml, .circleci/, Jenkinsfile, azure-pipelines.yml,
    .travis.yml, bitbucket-pipelines.yml, .drone.yml, .buildkite/, cloudbuild.yaml or .ci/.

    ## Why is this bad?
    Without CI nothing runs the tests before a merge or a deploy: a change that breaks
    the build reaches production, and "the tests pass" is only true on someone's laptop
    (seed 001 #22).

    ## Example
    ```python
    def handler():
        return "no CI configuration next to me"
    ```

    ## Use instead
    ```yaml
    # file: .github/workflows/test.yml
    on: [push]
    jobs:
      test:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - run: pip install -e .[dev] && pytest
    ```

    ## Known limitations
    Only the presence of a configuration is checked, not that it runs the tests.
    """

    meta = RuleMeta(
        id="PA902", slug="no-ci", family="readiness", dimension=Dimension.READINESS,
        severity=Severity.LOW, summary="no CI configuration", effort_minutes=60,
        fix="Add a CI workflow that installs the project and runs the tests on every push.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        if not project.summaries("source"):
            return
        if any((project.root / path).exists() for path in CI_FILES):
            return
        yield self.finding(
            "No CI configuration: nothing runs the tests before a merge or deploy",
            Location(""), anchor="no-ci",
            evidence=[Evidence(Location(""), "searched: " + ", ".join(CI_FILES) + "; none found")])
