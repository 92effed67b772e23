"""Section 4 of the report: findings by severity, then dimension, then rule.

Each rule is introduced once (title, why it matters, the fix, effort per finding); its
findings follow. Critical, high and medium findings are shown in full (message, code
excerpt with its line, evidence chain); low and info ones as table rows, since there can
be hundreds. Suppressed findings are listed apart with their reasons.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prodaudit.findings import Dimension, Finding, Severity
from prodaudit.report.blocks import (
    Badge,
    Block,
    BulletList,
    Code,
    CodeBlock,
    Group,
    Heading,
    Paragraph,
    Rich,
    Section,
    Spans,
    Strong,
    Table,
    Text,
    spans,
)
from prodaudit.report.document import is_positive

if TYPE_CHECKING:
    from prodaudit.report.sections import Context

FULL = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM)
MAX_EVIDENCE = 8


def findings_section(ctx: Context) -> Section:
    from prodaudit.report.sections import heading

    c, t = ctx.catalog, ctx.catalog.t
    findings = [f for f in ctx.result.findings if not is_positive(f)]
    children: list[Block] = [Paragraph(spans(t("findings.intro")))]
    if not findings:
        children.append(Paragraph(spans(t("findings.none"))))
    for severity in Severity:
        mine = [f for f in findings if f.severity == severity]
        if not mine:
            continue
        severity_children: list[Block] = [
            Heading(3, f"{c.severity_title(severity.value)} ({len(mine)})", "severity-" + severity.value)]
        for dimension in Dimension:
            here = [f for f in mine if _dimension(ctx, f) == dimension.value]
            if not here:
                continue
            blocks: list[Block] = [Heading(4, f"{c.severity_title(severity.value)} · "
                                              f"{c.dimension(dimension.value)} ({len(here)})",
                                           f"{severity.value}-{dimension.value}")]
            for rule_id in sorted({f.rule_id for f in here}):
                blocks.extend(rule_blocks(ctx, rule_id, [f for f in here if f.rule_id == rule_id], severity))
            severity_children.append(Group(tuple(blocks), severity=severity.value, dimension=dimension.value,
                                            count=len(here)))
        # Findings of rules not in the registry (should not happen) still show up.
        orphans = [f for f in mine if _dimension(ctx, f) == ""]
        for rule_id in sorted({f.rule_id for f in orphans}):
            severity_children.extend(rule_blocks(ctx, rule_id, [f for f in orphans if f.rule_id == rule_id], severity))
        children.append(Group(tuple(severity_children), severity=severity.value, count=len(mine)))
    children.extend(suppressed_blocks(ctx))
    return Section(heading(ctx, "findings", 4), tuple(children))


def _dimension(ctx: Context, finding: Finding) -> str:
    meta = ctx.metas.get(finding.rule_id)
    return meta.dimension.value if meta else ""


def rule_blocks(ctx: Context, rule_id: str, findings: list[Finding], severity: Severity) -> list[Block]:
    c, t = ctx.catalog, ctx.catalog.t
    meta = ctx.metas.get(rule_id)
    cls = ctx.rules.get(rule_id)
    title = c.rule_title(rule_id, meta)
    slug = meta.slug if meta else ""
    blocks: list[Block] = [Paragraph(spans(Badge(c.severity(severity.value), severity.value), " ",
                                           Strong(f"{rule_id} {slug}".strip()), ": ", Rich(title),
                                           " (", c.count(len(findings), "finding"), ")"))]
    why = c.rule_why(rule_id, cls)
    if why:
        blocks.append(Paragraph(spans(Strong(t("finding.why")), " ", Rich(why))))
    fixes = sorted({f.fix for f in findings if f.fix})
    fix = c.rule_fix(rule_id, meta, fixes[0] if len(fixes) == 1 else "")
    if fix:
        blocks.append(Paragraph(spans(Strong(t("finding.fix")), " ", Rich(fix))))
    if meta is not None:
        blocks.append(Paragraph(spans(Strong(t("finding.effort")), " ",
                                      t("finding.effort-detail", each=c.duration(meta.effort_minutes),
                                        count=len(findings),
                                        total=c.duration(meta.effort_minutes * len(findings))))))
    if severity in FULL:
        for finding in findings:
            blocks.extend(full_finding(ctx, finding))
    else:
        rows = []
        for finding in findings:
            rows.append((spans(Code(str(finding.location))), spans(Rich(finding.message)),
                         spans(Code(finding.excerpt)) if finding.excerpt else spans("-")))
        blocks.append(Table((t("col.where"), t("col.message"), t("col.code")), tuple(rows)))
    return blocks


def full_finding(ctx: Context, finding: Finding) -> list[Block]:
    c, t = ctx.catalog, ctx.catalog.t
    head: Spans = spans(Code(str(finding.location)), " ", Rich(finding.message), " ",
                        Text(f"[{t('finding.confidence')}: {c.confidence(finding.confidence.value)}]"))
    blocks: list[Block] = [Paragraph(head)]
    if finding.excerpt:
        blocks.append(CodeBlock(finding.excerpt, "python" if finding.location.path.endswith(".py") else "",
                                finding.location.line))
    if finding.evidence:
        items = []
        for evidence in finding.evidence[:MAX_EVIDENCE]:
            item: list = [Code(str(evidence.location)), " ", Rich(evidence.role)]
            if evidence.excerpt:
                item += [": ", Code(evidence.excerpt)]
            items.append(spans(*item))
        if len(finding.evidence) > MAX_EVIDENCE:
            items.append(spans(t("more", n=len(finding.evidence) - MAX_EVIDENCE)))
        blocks.append(Paragraph(spans(Strong(t("finding.evidence")))))
        blocks.append(BulletList(tuple(items), ordered=True))
    return blocks


def suppressed_blocks(ctx: Context) -> list[Block]:
    c, t = ctx.catalog, ctx.catalog.t
    items = ctx.result.suppressed
    blocks: list[Block] = [Heading(3, t("findings.suppressed", n=len(items)), "suppressed")]
    if not items:
        blocks.append(Paragraph(spans(t("findings.suppressed-none"))))
        return blocks
    rows = []
    for item in items:
        finding = item.finding
        rows.append((spans(Strong(finding.rule_id)), spans(Badge(c.severity(finding.severity.value),
                                                                 finding.severity.value)),
                     spans(Code(str(finding.location))), spans(Rich(finding.message)),
                     spans(c.suppression_how(item.how)), spans(item.reason),
                     spans(Code(str(item.location)))))
    blocks.append(Table((t("col.rule"), t("col.severity"), t("col.where"), t("col.message"),
                         t("col.how"), t("col.reason"), t("col.suppressed-at")), tuple(rows)))
    return blocks
