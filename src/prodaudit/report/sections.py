"""The report's nine sections as blocks (report/blocks.py), in one language (the catalog).

Order and content follow issue 7: executive summary, architecture, inventory, findings,
what works, scores, capacity, fix plan, methodology. Markdown and HTML serialise the same
tree. The inventory is taken from `inventory_document` so it says exactly what
`prodaudit inventory` says.
"""

from __future__ import annotations

from dataclasses import dataclass

import prodaudit
from prodaudit.findings import AuditResult, Dimension, Finding, Severity
from prodaudit.report.blocks import (
    BarChart,
    Block,
    BulletList,
    Code,
    Document,
    Heading,
    Link,
    Paragraph,
    Rich,
    Section,
    Spans,
    Strong,
    Table,
    Text,
    spans,
)
from prodaudit.report.document import (
    coverage,
    detect_layers,
    detect_stack,
    is_positive,
    layer_uses,
    layering_split,
    positives,
)
from prodaudit.report.findings_section import findings_section
from prodaudit.report.i18n import Catalog
from prodaudit.rules.base import Rule, all_rules
from prodaudit.scoring import (
    MINUTES_PER_LINE,
    NOT_READY,
    PHASES,
    READY,
    READY_WITH_CONDITIONS,
    SEVERITY_CAP,
    SEVERITY_WEIGHT,
    ZERO_SCORE_RATIO,
    Assessment,
    assess,
)

MAX_LOCATIONS = 5
SECTION_KEYS = ("summary", "architecture", "inventory", "findings", "what-works", "scores",
                "capacity", "plan", "methodology")
VERDICT_BADGE = {NOT_READY: "critical", READY_WITH_CONDITIONS: "medium", READY: "ok"}


@dataclass(frozen=True)
class Context:
    result: AuditResult
    assessment: Assessment
    catalog: Catalog
    rules: dict[str, type[Rule]]
    inventory: dict | None
    date: str

    @property
    def metas(self) -> dict:
        return {rule_id: cls.meta for rule_id, cls in self.rules.items()}


def build_document(result: AuditResult, lang: str = "en", date: str = "") -> Document:
    from prodaudit.report.inventory import inventory_document

    catalog = Catalog(lang)
    rules = {cls.meta.id: cls for cls in all_rules()}
    metas = {rule_id: cls.meta for rule_id, cls in rules.items()}
    inventory = inventory_document(result.project) if result.project is not None else None
    ctx = Context(result, assess(result, metas), catalog, rules, inventory, date)
    t = catalog.t
    subtitle = [Text(f"prodaudit {prodaudit.__version__}")]
    if date:
        subtitle.append(Text(" · " + t("report.date", date=date)))
    subtitle.append(Text(" · " + t("report.files", files=result.files_analyzed,
                                   rules=len(result.rules_run))))
    builders = (summary_section, architecture_section, inventory_section, findings_section,
                what_works_section, scores_section, capacity_section, plan_section,
                methodology_section)
    sections = tuple(build(ctx) for build in builders)
    return Document(
        title=t("report.title", root=result.root),
        subtitle=tuple(subtitle),
        lang=lang,
        sections=sections,
        severities=tuple((s.value, catalog.severity(s.value)) for s in Severity),
        dimensions=tuple((d.value, catalog.dimension(d.value)) for d in Dimension),
        filter_labels=(t("filter.severity"), t("filter.dimension"), t("filter.all")))


def heading(ctx: Context, key: str, number: int) -> Heading:
    return Heading(2, f"{number}. {ctx.catalog.t('section.' + key)}", key)


def loc_text(location) -> str:
    return str(location) if location is not None else ""


def locations_spans(ctx: Context, locations) -> list:
    shown = list(locations)[:MAX_LOCATIONS]
    parts: list = []
    for index, location in enumerate(shown):
        if index:
            parts.append(Text(", "))
        parts.append(Code(str(location)))
    if len(locations) > MAX_LOCATIONS:
        parts.append(Text(" " + ctx.catalog.t("more", n=len(locations) - MAX_LOCATIONS)))
    return parts


def toc(ctx: Context) -> Paragraph:
    parts: list = []
    for number, key in enumerate(SECTION_KEYS, 1):
        if parts:
            parts.append(Text(" · "))
        parts.append(Link(f"{number}. {ctx.catalog.t('section.' + key)}", "#" + key))
    return Paragraph(tuple(parts))


# -- 1. executive summary ----------------------------------------------------------------------
def summary_section(ctx: Context) -> Section:
    c, t, a = ctx.catalog, ctx.catalog.t, ctx.assessment
    verdict = a.verdict
    children: list[Block] = [toc(ctx)]
    children.append(Paragraph(spans(Strong(t("summary.verdict")), " ",
                                    _badge(c.verdict(verdict.value), VERDICT_BADGE[verdict.value]))))
    children.append(Paragraph(spans(Strong(t("summary.rule")), " ", t("verdict.rule"))))
    deciding = verdict.deciding
    if verdict.value == NOT_READY:
        because = t("verdict.because.not-ready", findings=c.count(len(deciding), "finding"))
    elif verdict.value == READY_WITH_CONDITIONS:
        because = t("verdict.because.conditions", findings=c.count(len(deciding), "finding"))
    else:
        because = t("verdict.because.ready")
    children.append(Paragraph(spans(Strong(t("summary.because")), " ", because)))
    rows = []
    suppressed = {}
    for item in ctx.result.suppressed:
        suppressed[item.finding.severity.value] = suppressed.get(item.finding.severity.value, 0) + 1
    for severity in Severity:
        rows.append((spans(_badge(c.severity(severity.value), severity.value)),
                     spans(str(a.counts[severity.value])),
                     spans(str(suppressed.get(severity.value, 0)))))
    rows.append((spans(Strong(t("total"))), spans(Strong(str(sum(a.counts.values())))),
                 spans(Strong(str(len(ctx.result.suppressed))))))
    children.append(Table((t("col.severity"), t("col.findings"), t("col.suppressed")),
                          tuple(rows), numeric=(1, 2)))
    children.append(Heading(3, t("summary.blockers"), "blockers"))
    if a.blockers:
        items = []
        for finding in a.blockers:
            items.append(spans(_badge(c.severity(finding.severity.value), finding.severity.value), " ",
                               Strong(finding.rule_id), " ", Rich(c.rule_title(finding.rule_id, ctx.metas.get(finding.rule_id))),
                               " — ", Rich(finding.message), " (", Code(str(finding.location)), ")"))
        children.append(BulletList(tuple(items), ordered=True))
    else:
        children.append(Paragraph(spans(t("summary.no-blockers"))))
    children.append(Heading(3, t("summary.assumptions"), "assumptions"))
    children.append(BulletList(tuple(assumptions(ctx))))
    return Section(heading(ctx, "summary", 1), tuple(children))


def _badge(text: str, kind: str):
    from prodaudit.report.blocks import Badge

    return Badge(text, kind)


def assumptions(ctx: Context) -> list[Spans]:
    t, cap = ctx.catalog.t, ctx.assessment.capacity
    items: list[Spans] = []
    if cap.workers is not None:
        items.append(spans(t("assume.workers", count=cap.workers), " (", Code(loc_text(cap.workers_location)),
                           ": ", cap.workers_source, ")"))
    else:
        items.append(spans(t("assume.workers-unknown"), " (", cap.workers_source, ")"))
    db = cap.database
    if db.kind and db.written:
        items.append(spans(t("assume.database", kind=db.kind, limit=db.max_connections), " (",
                           Code(loc_text(db.location)), ")"))
    elif db.kind:
        items.append(spans(t("assume.database-default", kind=db.kind, limit=db.max_connections)))
    else:
        items.append(spans(t("assume.database-unknown")))
    if cap.per_worker is not None:
        items.append(spans(t("assume.pool", sessions=cap.per_worker)))
    else:
        items.append(spans(t("assume.pool-unknown")))
    items.append(spans(t("assume.confidence")))
    items.append(spans(t("assume.suppressed", n=len(ctx.result.suppressed))))
    items.append(spans(t("assume.static")))
    return items


# -- 2. architecture -----------------------------------------------------------------------------
def architecture_section(ctx: Context) -> Section:
    t, project = ctx.catalog.t, ctx.result.project
    children: list[Block] = [Heading(3, t("arch.stack"), "stack")]
    stack = detect_stack(project)
    if stack:
        children.append(Table((t("col.category"), t("col.component"), t("col.evidence")),
                              tuple((spans(t("stack." + s.category)), spans(s.name), spans(Code(s.evidence)))
                                    for s in stack)))
    else:
        children.append(Paragraph(spans(t("arch.stack-none"))))
    children.append(Heading(3, t("arch.deployment"), "deployment"))
    children.extend(deployment_blocks(ctx))
    children.append(Heading(3, t("arch.layers"), "layers"))
    layers = detect_layers(project)
    if layers:
        children.append(Paragraph(spans(t("arch.layers-method"))))
        children.append(Table((t("col.role"), t("col.folders"), t("col.files")),
                              tuple((spans(t("layer." + layer.role)),
                                     tuple(_join_codes(layer.folders)), spans(str(layer.files)))
                                    for layer in layers), numeric=(2,)))
    else:
        children.append(Paragraph(spans(t("arch.layers-none"))))
    uses = layer_uses(project)
    if uses:
        rows = []
        for use in uses:
            rows.append((spans(Code(use.path)),
                         tuple(_join_codes([str(x) for x in use.data])) or spans("-"),
                         tuple(_join_codes([str(x) for x in use.business])) or spans("-")))
        children.append(Paragraph(spans(t("arch.uses-intro"))))
        children.append(Table((t("col.module"), t("col.imports-data"), t("col.imports-business")),
                              tuple(rows)))
        if layering_split(uses):
            direct = [u.path for u in uses if u.data and not u.business]
            children.append(Paragraph(spans(Strong(t("arch.split")), " ",
                                            t("arch.split-detail", n=len(direct)), " ",
                                            *_join_codes(direct))))
        else:
            children.append(Paragraph(spans(t("arch.no-split"))))
    return Section(heading(ctx, "architecture", 2), tuple(children))


def _join_codes(values) -> list:
    parts: list = []
    for index, value in enumerate(values):
        if index:
            parts.append(Text(", "))
        parts.append(Code(str(value)))
    return parts


def deployment_blocks(ctx: Context) -> list[Block]:
    t, project = ctx.catalog.t, ctx.result.project
    if project is None:
        return [Paragraph(spans(t("none")))]
    deployment = project.deployment
    items: list[Spans] = []
    servers: dict[tuple, list[str]] = {}
    for server in deployment.servers:
        if not server.is_web and server.server == "unknown":
            continue
        # The same command is often both the Dockerfile CMD and a compose service's.
        key = (server.server, server.app or server.command, server.workers, str(server.location))
        servers.setdefault(key, [])
        if server.service:
            servers[key].append(server.service)
    for (name, app, workers, location), services in servers.items():
        shown = str(workers) if workers is not None else t("unknown")
        items.append(spans(Strong(name), " ", Code(app), ": ", t("deploy.workers", workers=shown),
                           " (", Code(location),
                           "".join(", " + t("deploy.service", name=s) for s in sorted(set(services))), ")"))
    for service in deployment.services:
        items.append(spans(t("deploy.compose-service"), " ", Strong(service.name), " (",
                           ctx.catalog.service_kind(service.kind),
                           (", " + service.image) if service.image else "", ", ",
                           t("deploy.healthcheck-yes") if service.healthcheck else t("deploy.healthcheck-no"),
                           ") ", Code(str(service.location))))
    for docker in deployment.dockerfiles:
        user = docker.final_user or t("deploy.root")
        items.append(spans(Code(docker.path), ": ", ", ".join(b.image for b in docker.base_images) or "-",
                           "; ", t("deploy.user", user=user), "; ",
                           t("deploy.healthcheck-yes") if docker.has_healthcheck else t("deploy.healthcheck-no")))
    for workload in deployment.k8s:
        items.append(spans("k8s ", workload.kind, " ", Strong(workload.name), ": ",
                           t("deploy.replicas", n=workload.replicas if workload.replicas is not None else t("unknown")),
                           " (", Code(str(workload.location)), ")"))
    if not items:
        return [Paragraph(spans(t("deploy.none")))]
    return [BulletList(tuple(items))]


# -- 3. inventory -----------------------------------------------------------------------------------
def inventory_section(ctx: Context) -> Section:
    t, doc = ctx.catalog.t, ctx.inventory
    if doc is None:
        return Section(heading(ctx, "inventory", 3), (Paragraph(spans(t("none"))),))
    children: list[Block] = [Heading(3, t("inv.stats"), "stats")]
    children.append(Table((t("col.what"), t("col.value"), t("col.method")),
                          tuple((spans(ctx.catalog.stat_label(s["key"], s["label"])), spans(str(s["value"])),
                                 spans(Rich(ctx.catalog.stat_method(s["key"], s["method"])))) for s in doc["stats"]), numeric=(1,)))
    children.append(Heading(3, t("inv.endpoints", n=len(doc["endpoints"])), "endpoints"))
    if doc["endpoints"]:
        rows = []
        for e in doc["endpoints"]:
            handler = f"{e['handler']['path']}:{e['handler']['line']}" if e["handler"] else "?"
            url = [Code(e["url"])] + ([Text(" " + t("inv.not-mounted"))] if not e["mounted"] else [])
            rows.append((spans(e["method"]), tuple(url), spans(Code(handler)),
                         tuple(_join_codes(e["auth"])) or spans("-"),
                         tuple(_join_codes(e["rate_limits"])) or spans("-")))
        children.append(Table((t("col.method-http"), t("col.url"), t("col.handler"), t("col.auth"),
                               t("col.rate-limit")), tuple(rows)))
    else:
        children.append(Paragraph(spans(t("none"))))
    if doc["bot_handlers"]:
        children.append(Heading(3, t("inv.bots", n=len(doc["bot_handlers"])), "bot-handlers"))
        children.append(Table((t("col.event"), t("col.filters"), t("col.function"), t("col.where")),
                              tuple((spans(h["event"]), spans(Code(h["filters"] or "-")), spans(Code(h["function"])),
                                     spans(Code(h["location"]))) for h in doc["bot_handlers"])))
    children.append(Heading(3, t("inv.background"), "background"))
    background = doc["background"]
    if background["hooks"] or background["jobs"]:
        rows = []
        for hook in background["hooks"]:
            rows.append((spans(t("inv.hook", kind=hook["kind"])), spans(Code(hook["function"])),
                         spans(Code(hook["registered_at"])), spans("-"), spans("-")))
        for job in background["jobs"]:
            lock = ", ".join(job["lock_evidence"]) or (t("inv.no-lock") if job["kind"] != "background-task" else "-")
            rows.append((spans(job["kind"]), spans(Code(job["target"])), spans(Code(job["started_at"])),
                         spans(Code(job["loop"])) if job["loop"] else spans("-"), spans(lock)))
        children.append(Table((t("col.kind"), t("col.what"), t("col.where"), t("col.loop"), t("col.lock")),
                              tuple(rows)))
    else:
        children.append(Paragraph(spans(t("none"))))
    children.append(Heading(3, t("inv.singletons"), "singletons"))
    children.extend(singleton_blocks(ctx))
    children.append(Heading(3, t("inv.hosts"), "external-hosts"))
    if doc["external_hosts"]:
        children.append(Paragraph(spans(t("inv.hosts-method"))))
        children.append(Table((t("col.host"), t("col.uses"), t("col.where")),
                              tuple((spans(Code(h["host"])), spans(str(len(h["locations"]))),
                                     tuple(locations_spans(ctx, h["locations"]))) for h in doc["external_hosts"]),
                              numeric=(1,)))
    else:
        children.append(Paragraph(spans(t("inv.hosts-none"))))
    children.append(Heading(3, t("inv.dependencies"), "dependencies"))
    children.extend(dependency_blocks(ctx))
    return Section(heading(ctx, "inventory", 3), tuple(children))


def singleton_blocks(ctx: Context) -> list[Block]:
    t, doc = ctx.catalog.t, ctx.inventory
    singletons = doc["singletons"]
    if not singletons:
        return [Paragraph(spans(t("none")))]
    workers = ctx.assessment.capacity.workers
    rows = []
    for s in singletons:
        state = ", ".join(f"{a['attribute']}: {a['kind']}" for a in s["state"]) or "-"
        reached = s["reached_from"]
        if not s["mutated_at_runtime"]:
            safe = t("safe.yes-immutable")
        elif workers is not None and workers <= 1:
            safe = t("safe.yes-one-worker")
        elif workers is None:
            safe = t("safe.no-if-several")
        else:
            safe = t("safe.no", workers=workers)
        rows.append((spans(Code(s["name"])), spans(Code(s["location"])), spans(Code(state)),
                     spans(t("yes") if s["mutated_at_runtime"] else t("no")),
                     tuple(_join_codes(reached[:MAX_LOCATIONS])) or spans("-"), spans(safe)))
    return [Table((t("col.name"), t("col.where"), t("col.state"), t("col.mutated"), t("col.reached"),
                   t("col.multiworker")), tuple(rows))]


def dependency_blocks(ctx: Context) -> list[Block]:
    t, project = ctx.catalog.t, ctx.result.project
    report = project.dependencies
    deps = sorted(report.dependencies, key=lambda d: (d.group != "main", d.group, d.name, d.location))
    if not deps:
        return [Paragraph(spans(t("inv.deps-none")))]
    counts = {status: sum(1 for d in deps if d.status == status) for status in ("pinned", "ranged", "unbounded")}
    lock = ", ".join(report.lock_files) or t("none-found")
    python = report.requires_python or t("unknown")
    blocks: list[Block] = [Paragraph(spans(t("inv.deps-summary", total=len(deps), **counts, lock=lock,
                                             python=python)))]
    blocks.append(Table((t("col.package"), t("col.spec"), t("col.status"), t("col.group"), t("col.where")),
                        tuple((spans(Code(d.name)), spans(Code(d.spec)) if d.spec else spans("-"),
                               spans(t("dep." + d.status)), spans(d.group), spans(Code(str(d.location))))
                              for d in deps)))
    return blocks


# -- 5. what works ---------------------------------------------------------------------------------
def what_works_section(ctx: Context) -> Section:
    t = ctx.catalog.t
    items = []
    for fact in positives(ctx.result, ctx.metas):
        params = dict(fact.params)
        if fact.key == "rule":
            text: list = [Strong(str(params["rule"])), " ", Rich(fact.message)]
        else:
            text = [t("positive." + fact.key, **params)]
        if fact.locations:
            text += [" (", *locations_spans(ctx, fact.locations), ")"]
        items.append(spans(*text))
    children: list[Block] = [Paragraph(spans(t("works.intro")))]
    children.append(BulletList(tuple(items)) if items else Paragraph(spans(t("works.none"))))
    return Section(heading(ctx, "what-works", 5), tuple(children))


# -- 6. scores -------------------------------------------------------------------------------------------
def scores_section(ctx: Context) -> Section:
    c, t, card = ctx.catalog, ctx.catalog.t, ctx.assessment.scorecard
    weights = ", ".join(f"{c.severity(s.value)} {w}" for s, w in SEVERITY_WEIGHT.items())
    caps = ", ".join(f"{c.severity(s.value)} {cap:g}" for s, cap in SEVERITY_CAP.items())
    children: list[Block] = [
        Paragraph(spans(t("scores.formula", weights=weights, per_line=MINUTES_PER_LINE,
                          lines=card.code_lines, zero=int(ZERO_SCORE_RATIO * 100), caps=caps))),
        Paragraph(spans(t("scores.ratings"))),
    ]
    rows = []
    for d in card.dimensions:
        if not d.assessed:
            rows.append((spans(c.dimension(d.dimension.value)), spans(t("scores.na")), spans("-"),
                         spans(str(d.findings)), spans("-"), spans("-"), spans("-"), spans(str(d.rules_run))))
            continue
        cap = f"{d.cap:g} ({c.severity(d.cap_severity.value)})" if d.cap is not None else "-"
        rows.append((spans(c.dimension(d.dimension.value)), spans(Strong(f"{d.score:.1f}")),
                     spans(_badge(d.rating, "rating-" + d.rating)), spans(str(d.findings)),
                     spans(f"{d.debt_minutes:g}"), spans(f"{d.debt_ratio * 100:.1f}%"), spans(cap),
                     spans(str(d.rules_run))))
    children.append(Table((t("col.dimension"), t("col.score"), t("col.rating"), t("col.findings"),
                           t("col.debt"), t("col.ratio"), t("col.cap"), t("col.rules")),
                          tuple(rows), numeric=(1, 3, 4, 5, 7)))
    overall = card.overall
    children.append(Paragraph(spans(Strong(t("scores.overall")), " ",
                                    f"{overall:.1f}" if overall is not None else t("scores.na"), " ",
                                    t("scores.overall-how"))))
    children.append(BarChart(t("chart.scores"), tuple(
        (c.dimension(d.dimension.value), d.score if d.score is not None else 0.0,
         "rating-" + (d.rating or "na")) for d in card.dimensions), 10.0))
    children.append(BarChart(t("chart.findings"), tuple(
        (c.dimension(d.dimension.value), float(d.findings), "bar") for d in card.dimensions),
        float(max([d.findings for d in card.dimensions] + [1]))))
    return Section(heading(ctx, "scores", 6), tuple(children))


# -- 7. capacity ------------------------------------------------------------------------------------------
def capacity_section(ctx: Context) -> Section:
    t, cap = ctx.catalog.t, ctx.assessment.capacity
    children: list[Block] = [Paragraph(spans(t("cap.intro")))]
    facts: list[Spans] = []
    if cap.workers is not None:
        facts.append(spans(t("cap.workers", count=cap.workers), " (", Code(loc_text(cap.workers_location)),
                           ": ", cap.workers_source, ")"))
    else:
        facts.append(spans(t("cap.workers-unknown"), " (", cap.workers_source, ")"))
    if cap.pools:
        for pool in cap.pools:
            size = pool.pool_size if pool.pool_size is not None else t("unknown")
            overflow = pool.max_overflow if pool.max_overflow is not None else t("unknown")
            if pool.null_pool:
                text = t("cap.null-pool", name=pool.name)
            else:
                text = t("cap.pool", name=pool.name, size=size, overflow=overflow,
                         total=pool.per_worker if pool.per_worker is not None else t("unknown"))
            parts: list = [text, " (", Code(loc_text(pool.location)), "; ", t("cap.origin." + pool.origin), ")"]
            for parameter, source in pool.sources:
                parts += ["; ", Code(parameter), ": ", source]
            facts.append(spans(*parts))
    else:
        facts.append(spans(t("cap.pool-unknown")))
    timeout = f"{cap.pool_timeout:g}" if cap.pool_timeout is not None else None
    facts.append(spans(t("cap.timeout", timeout=timeout) if timeout else t("cap.timeout-default")))
    db = cap.database
    if db.kind and db.written:
        facts.append(spans(t("cap.db", kind=db.kind, limit=db.max_connections, reserved=db.reserved,
                             usable=db.usable), " (", Code(loc_text(db.location)), ")"))
    elif db.kind:
        facts.append(spans(t("cap.db-default", kind=db.kind, limit=db.max_connections, reserved=db.reserved,
                             usable=db.usable)))
    else:
        facts.append(spans(t("cap.db-unknown")))
    children.append(BulletList(tuple(facts)))
    rows = []
    wait = timeout or "30"
    for row in cap.rows:
        workers = [Strong(str(row.workers)), Text(" " + t("cap.deployed"))] if row.deployed else [Text(str(row.workers))]
        sessions = str(row.sessions) if row.sessions is not None else t("unknown")
        limit = str(db.usable) if db.usable is not None else t("unknown")
        if row.exceeds is None:
            outcome = t("cap.outcome-unknown")
        elif row.exceeds:
            outcome = t("cap.outcome-exceeds", usable=db.usable, timeout=wait)
        else:
            outcome = t("cap.outcome-fits", per_worker=cap.per_worker, timeout=wait)
        rows.append((tuple(workers), spans(str(cap.per_worker) if cap.per_worker is not None else t("unknown")),
                     spans(sessions), spans(limit), spans(outcome)))
    children.append(Table((t("col.workers"), t("col.per-worker"), t("col.sessions"), t("col.db-limit"),
                           t("col.outcome")), tuple(rows), numeric=(1, 2, 3)))
    if cap.max_workers_within_limit is not None:
        children.append(Paragraph(spans(t("cap.max-workers", n=cap.max_workers_within_limit))))
    children.append(Paragraph(spans(Strong(t("cap.past")), " ", t("cap.past-detail", timeout=wait))))
    children.append(Paragraph(spans(t("cap.no-users"))))
    return Section(heading(ctx, "capacity", 7), tuple(children))


# -- 8. fix plan ----------------------------------------------------------------------------------------------
def plan_section(ctx: Context) -> Section:
    c, t, plan = ctx.catalog, ctx.catalog.t, ctx.assessment.plan
    children: list[Block] = [Paragraph(spans(t("plan.intro")))]
    totals = []
    for phase in PHASES:
        groups = plan.phase(phase)
        minutes = plan.phase_minutes(phase)
        children.append(Heading(3, f"{phase}: {t('plan.phase.' + phase)}", "plan-" + phase.lower()))
        totals.append((spans(Strong(phase)), spans(t("plan.phase." + phase)),
                       spans(str(len(groups))), spans(str(sum(i.count for g in groups for i in g.items))),
                       spans(c.duration(minutes))))
        if not groups:
            children.append(Paragraph(spans(t("plan.empty"))))
            continue
        for group in groups:
            title = c.group_title(group.key, ctx.metas)
            closes = ", ".join(group.rule_ids)
            children.append(Paragraph(spans(Strong(title), " (", t("plan.closes", rules=closes), "; ",
                                            t("plan.effort", effort=c.duration(group.total_minutes)), ")")))
            items = []
            for item in group.items:
                items.append(spans(Strong(item.rule_id), " ", Rich(c.rule_title(item.rule_id, ctx.metas.get(item.rule_id))),
                                   ": ", t("plan.item", count=c.count(item.count, "finding"),
                                           each=c.duration(item.effort_minutes),
                                           total=c.duration(item.total_minutes)),
                                   " (", *locations_spans(ctx, item.locations), ")"))
            children.append(BulletList(tuple(items), checklist=True))
    totals.append((spans(Strong(t("total"))), spans(""), spans(str(len(plan.groups))),
                   spans(str(sum(i.count for g in plan.groups for i in g.items))),
                   spans(Strong(c.duration(sum(plan.phase_minutes(p) for p in PHASES))))))
    children.append(Heading(3, t("plan.totals"), "plan-totals"))
    children.append(Table((t("col.phase"), t("col.when"), t("col.groups"), t("col.findings"), t("col.effort")),
                          tuple(totals), numeric=(2, 3, 4)))
    children.append(Paragraph(spans(t("plan.effort-how"))))
    return Section(heading(ctx, "plan", 8), tuple(children))


# -- 9. methodology --------------------------------------------------------------------------------------------
def methodology_section(ctx: Context) -> Section:
    c, t = ctx.catalog, ctx.catalog.t
    cov = coverage(ctx.result)
    children: list[Block] = [Heading(3, t("method.analysed"), "analysed")]
    if cov.files_by_kind:
        children.append(Table((t("col.kind"), t("col.files")),
                              tuple((spans(t("kind." + kind)), spans(str(n))) for kind, n in cov.files_by_kind)
                              + ((spans(Strong(t("total"))), spans(Strong(str(ctx.result.files_analyzed)))),),
                              numeric=(1,)))
    children.append(Paragraph(spans(t("method.discovery"))))
    children.append(Heading(3, t("method.skipped"), "skipped"))
    skipped = [spans(Code(path or "."), ": ", why) for path, why in cov.skipped]
    skipped += [spans(Code(path), ": ", t("method.unparsed")) for path in cov.unparsed]
    children.append(BulletList(tuple(skipped)) if skipped else Paragraph(spans(t("method.skipped-none"))))
    if cov.warnings:
        children.append(Heading(3, t("method.warnings"), "warnings"))
        children.append(BulletList(tuple(spans(w) for w in cov.warnings)))
    children.append(Heading(3, t("method.rules", n=len(cov.rules_run)), "rules-run"))
    rows = []
    for rule_id in cov.rules_run:
        meta = ctx.metas.get(rule_id)
        if meta is None:
            continue
        rows.append((spans(Strong(rule_id)), spans(Code(meta.slug)), spans(c.dimension(meta.dimension.value)),
                     spans(Rich(c.rule_title(rule_id, meta)))))
    children.append(Table((t("col.rule"), t("col.slug"), t("col.dimension"), t("col.title")), tuple(rows)))
    children.append(Heading(3, t("method.how"), "how"))
    children.append(BulletList((spans(t("method.static")), spans(t("method.deterministic")),
                                spans(t("method.evidence")), spans(t("method.ruff")))))
    children.append(Heading(3, t("method.limits"), "limits"))
    children.append(BulletList(tuple(spans(t(f"limit.{n}")) for n in range(1, 8))))
    return Section(heading(ctx, "methodology", 9), tuple(children))


def severity_findings(result: AuditResult) -> list[Finding]:
    return [f for f in result.findings if not is_positive(f)]
