"""Inline suppressions: `# prodaudit: ignore[PA501] reason` and, for findings bridged from
ruff, `# noqa: E722`. Suppressed findings are kept and listed apart with their reasons.

A trailing comment applies to its own line; a comment alone on a line applies to the next
line of code (so decorators and long statements can be annotated above). A finding is
matched on the line it is reported at. `# prodaudit: ignore-file[PA702] reason` anywhere
in a file applies to the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable

from prodaudit.findings import Finding, Location, Suppressed
from prodaudit.model.facts import ModuleSummary, SuppressionFact

NO_REASON = "(no reason given)"


def _matches(suppression: SuppressionFact, finding: Finding, slug: str) -> bool:
    if suppression.kind == "noqa":
        if not finding.source.startswith("ruff:"):
            return False
        code = finding.source.split(":", 1)[1]
        return not suppression.codes or code in suppression.codes
    if not suppression.codes:
        return True
    return finding.rule_id in suppression.codes or slug.upper() in suppression.codes


def apply_suppressions(findings: Iterable[Finding], modules: dict[str, ModuleSummary],
                       slugs: dict[str, str]) -> tuple[list[Finding], list[Suppressed]]:
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in findings:
        module = modules.get(finding.location.path)
        hit = None
        if module is not None and module.suppressions:
            slug = slugs.get(finding.rule_id, "")
            for suppression in module.suppressions:
                applies = suppression.file_level or suppression.line == finding.location.line
                if applies and _matches(suppression, finding, slug):
                    hit = suppression
                    break
        if hit is None:
            kept.append(finding)
            continue
        how = "noqa" if hit.kind == "noqa" else ("file" if hit.file_level else "inline")
        reason = hit.reason if hit.kind != "noqa" else "ruff noqa comment"
        suppressed.append(Suppressed(finding, how, reason or NO_REASON,
                                     Location(finding.location.path, hit.written_at)))
    return kept, suppressed
