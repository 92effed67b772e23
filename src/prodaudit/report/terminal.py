"""The terminal summary: counts by severity and dimension, the top findings with their
code, notes, and where reports were written. Repository text is printed with markup
disabled, so a string like "[red]" in someone's code is shown, not interpreted."""

from __future__ import annotations

import heapq
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from prodaudit.findings import AuditResult, Dimension, Finding, Severity
from prodaudit.rules.base import all_rules

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
TOP = 15


def render_terminal(result: AuditResult, console: Console, written: list[str] = ()) -> None:
    metas = {cls.meta.id: cls.meta for cls in all_rules()}
    findings = result.findings
    console.print(Text.assemble(("prodaudit ", "bold"), (result.root, "bold cyan"),
                                f"  {result.files_analyzed} files, {len(result.rules_run)} rules"))

    by_severity: dict[Severity, list[Finding]] = {}
    for finding in findings:
        by_severity.setdefault(finding.severity, []).append(finding)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for severity in Severity:
        table.add_column(severity.value, justify="right", style=SEVERITY_STYLE[severity])
    table.add_row(*(str(len(by_severity.get(s, ()))) for s in Severity))
    console.print(table)

    by_dimension: Counter[Dimension] = Counter()
    for rule_id, count in Counter(f.rule_id for f in findings).items():
        if rule_id in metas:
            by_dimension[metas[rule_id].dimension] += count
    dims = [f"{d.value} {by_dimension[d]}" for d in Dimension if by_dimension.get(d)]
    if dims:
        console.print(Text("by dimension: " + ", ".join(dims), style="dim"))

    serious = {s: group for s, group in by_severity.items() if s != Severity.INFO}
    shown = _worst(serious, TOP) or _worst(by_severity, TOP)
    if shown:
        console.print()
        console.print(Text("Top findings", style="bold"))
    for finding in shown:
        line = Text()
        line.append(f"{finding.location}", style="bold")
        line.append("  ")
        line.append(f"{finding.rule_id}", style="magenta")
        line.append(f" {finding.severity.value}", style=SEVERITY_STYLE[finding.severity])
        line.append("  ")
        line.append(finding.message)
        console.print(line)
        if finding.excerpt:
            console.print(Text(f"    {finding.excerpt[:160]}", style="dim"))
        for evidence in finding.evidence[:3]:
            console.print(Text(f"    {evidence.role}: {evidence.location}", style="dim"))
    remaining = len(findings) - len(shown)
    if remaining > 0:
        console.print(Text(f"... and {remaining} more (use --format json or md for all)", style="dim"))

    if result.suppressed:
        without = sum(1 for s in result.suppressed if s.reason == "(no reason given)")
        console.print(Text(f"{len(result.suppressed)} suppressed ({without} without a reason)",
                           style="dim"))
    skipped = [n for n in result.notes if n.kind == "skipped"]
    if skipped:
        console.print(Text(f"{len(skipped)} files or directories skipped (see the JSON notes)",
                           style="dim"))
    for note in result.notes:
        if note.kind in ("warning", "config"):
            console.print(Text(f"warning: {note.message}", style="yellow"))
    for path in written:
        console.print(Text(f"report written: {path}", style="green"))


def _worst(by_severity: dict[Severity, list[Finding]], count: int) -> list[Finding]:
    """The first `count` findings by (worst severity, place): only the findings of the
    worst severities are ordered, not all 10,000 of a big tree."""
    candidates: list[Finding] = []
    for severity in sorted(by_severity, key=lambda s: -s.rank):
        if len(candidates) >= count:
            break
        candidates += by_severity[severity]
    return heapq.nsmallest(count, candidates, key=lambda f: (-f.severity.rank, f.sort_key))
