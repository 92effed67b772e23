from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

METHOD = ("comment tokens (never strings or docstrings) containing TODO, FIXME or HACK as a "
          "whole word in any letter case, or XXX in capitals, in .py files classified as source "
          "(tests and migrations excluded); one per comment")
SEVERITY_BY_TAG = {"FIXME": Severity.LOW, "HACK": Severity.LOW, "TODO": Severity.INFO,
                   "XXX": Severity.INFO}


@register
class TodoFixme(ProjectRule):
    """
    ## What it does
    Lists TODO, FIXME, HACK and XXX comments in application code, one finding per
    comment, with one counting method stated in every report: comment tokens only (never
    strings or docstrings), TODO/FIXME/HACK as whole words in any case, XXX in capitals,
    in source files (tests and migrations excluded).

    ## Why is this bad?
    Each is work someone decided not to do. FIXME and HACK mark known defects and are
    reported as low; TODO and XXX as info. The count is the inventory figure that seed
    reviews disagreed about by 4x ("117-482 depending on methodology"): here the method
    is fixed, so two runs and two people get the same number.

    ## Example
    ```python
    def pay(order):
        # FIXME: retries charge the card twice
        return order
    ```

    ## Use instead
    ```python
    def pay(order):
        # Retries are safe: the provider deduplicates on the idempotency key.
        return order
    ```

    ## Known limitations
    Does not know whether the comment is stale (seed 002: "FIXME outdated, protection
    already implemented"); age from git blame is not computed yet.
    """

    meta = RuleMeta(
        id="PA702", slug="todo-fixme", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.INFO,
        summary="TODO/FIXME/HACK/XXX comment in application code (counted with a stated method)",
        effort_minutes=15, file_kinds=("source",),
        fix="Do it, file it in the tracker, or delete the comment.",
    )
    method = METHOD

    def check_project(self, project) -> Iterator[Finding]:
        for summary in project.summaries("source"):
            for comment in summary.comments:
                yield self.finding(
                    f"{comment.tag} comment: {comment.text[:120]}",
                    Location(summary.path, comment.line),
                    severity=SEVERITY_BY_TAG.get(comment.tag, Severity.INFO),
                    anchor=comment.tag,
                )
