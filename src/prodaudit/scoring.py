"""From findings and the project model to the judgements of the report: dimension scores,
the readiness verdict, the capacity matrix and the phased fix plan.

Everything here is a formula over facts, the same for every project (docs/scoring.md
states each one); nothing is tuned per project and nothing is invented: where a fact is
missing (worker count, pool size, database limit) the value is None and the report says
"unknown".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prodaudit.findings import AuditResult, Confidence, Dimension, Finding, Location, Severity
from prodaudit.rules.base import RuleMeta, all_rules

# -- dimension scores ----------------------------------------------------------------------
# Debt of one finding = the rule's effort_minutes x its severity weight x its confidence weight.
SEVERITY_WEIGHT = {Severity.CRITICAL: 8, Severity.HIGH: 4, Severity.MEDIUM: 2,
                   Severity.LOW: 1, Severity.INFO: 0}
CONFIDENCE_WEIGHT = {Confidence.HIGH: 1.0, Confidence.MEDIUM: 1.0, Confidence.LOW: 0.5}
# SonarQube's default cost of writing one line of code; debt ratio = debt / (lines x this).
MINUTES_PER_LINE = 30
# The debt ratio at which the debt part of the score reaches 0.
ZERO_SCORE_RATIO = 0.5
# The worst finding (confidence high or medium) caps the score of its dimension.
SEVERITY_CAP = {Severity.CRITICAL: 2.0, Severity.HIGH: 5.0, Severity.MEDIUM: 7.5,
                Severity.LOW: 9.0}
# Rating letters from the final score (lower bound inclusive); E is everything below D.
RATING_FLOORS = (("A", 9.0), ("B", 8.0), ("C", 6.0), ("D", 2.01))
DECIDING = (Confidence.HIGH, Confidence.MEDIUM)


@dataclass(frozen=True)
class DimensionScore:
    dimension: Dimension
    assessed: bool  # False: no rule of this dimension ran, so there is no score
    rules_run: int
    findings: int
    debt_minutes: float  # severity- and confidence-weighted effort
    development_minutes: int  # code lines x MINUTES_PER_LINE
    debt_ratio: float
    debt_score: float
    cap: float | None  # from the worst deciding finding, None when there is none
    cap_severity: Severity | None
    score: float | None
    rating: str  # A-E, "" when not assessed


@dataclass(frozen=True)
class Scorecard:
    dimensions: tuple[DimensionScore, ...]
    code_lines: int

    @property
    def overall(self) -> float | None:
        scored = [d.score for d in self.dimensions if d.score is not None]
        return round_score(sum(scored) / len(scored)) if scored else None


def round_score(value: float) -> float:
    """One decimal, half up (never banker's rounding, so 7.25 prints as 7.3 everywhere)."""
    return int(value * 10 + 0.5 + 1e-9) / 10


def rating_of(score: float) -> str:
    for letter, floor in RATING_FLOORS:
        if score >= floor:
            return letter
    return "E"


def finding_debt(finding: Finding, meta: RuleMeta | None) -> float:
    if meta is None or not meta.scored:
        return 0.0
    return meta.effort_minutes * SEVERITY_WEIGHT[finding.severity] * CONFIDENCE_WEIGHT[finding.confidence]


def score_dimensions(findings: Sequence[Finding], rules_run: Iterable[str], code_lines: int,
                     metas: dict[str, RuleMeta]) -> Scorecard:
    ran = Counter(metas[r].dimension for r in rules_run if r in metas and metas[r].scored)
    development = max(code_lines, 1) * MINUTES_PER_LINE
    rows = []
    for dimension in Dimension:
        mine = [f for f in findings if f.rule_id in metas and metas[f.rule_id].dimension == dimension
                and metas[f.rule_id].scored]
        debt = sum(finding_debt(f, metas[f.rule_id]) for f in mine)
        ratio = debt / development
        debt_score = 10 * max(0.0, 1 - ratio / ZERO_SCORE_RATIO)
        deciding = [f.severity for f in mine if f.confidence in DECIDING and f.severity in SEVERITY_CAP]
        worst = max(deciding, key=lambda s: s.rank, default=None)
        cap = SEVERITY_CAP[worst] if worst is not None else None
        assessed = ran.get(dimension, 0) > 0
        score = round_score(min(debt_score, cap if cap is not None else 10.0)) if assessed else None
        rows.append(DimensionScore(
            dimension=dimension, assessed=assessed, rules_run=ran.get(dimension, 0),
            findings=len(mine), debt_minutes=round(debt, 1), development_minutes=development,
            debt_ratio=ratio, debt_score=round_score(debt_score), cap=cap, cap_severity=worst,
            score=score, rating=rating_of(score) if score is not None else ""))
    return Scorecard(tuple(rows), code_lines)


# -- verdict ---------------------------------------------------------------------------------
NOT_READY = "not-ready"
READY_WITH_CONDITIONS = "ready-with-conditions"
READY = "ready"


@dataclass(frozen=True)
class Verdict:
    value: str  # one of NOT_READY, READY_WITH_CONDITIONS, READY
    # The findings that decided it (the ones of the deciding severity), most severe first.
    deciding: tuple[Finding, ...]


def decide_verdict(findings: Sequence[Finding]) -> Verdict:
    """NOT READY: any critical finding of confidence high or medium.
    READY WITH CONDITIONS: otherwise any high finding of confidence high or medium, or a
    critical one of low confidence. READY: neither. Suppressed findings never count."""
    ordered = sorted(findings, key=severity_order)
    critical = [f for f in ordered if f.severity == Severity.CRITICAL and f.confidence in DECIDING]
    if critical:
        return Verdict(NOT_READY, tuple(critical))
    conditions = [f for f in ordered
                  if (f.severity == Severity.HIGH and f.confidence in DECIDING)
                  or f.severity == Severity.CRITICAL]
    if conditions:
        return Verdict(READY_WITH_CONDITIONS, tuple(conditions))
    return Verdict(READY, ())


def severity_order(finding: Finding) -> tuple:
    confidence_rank = {Confidence.HIGH: 0, Confidence.MEDIUM: 1, Confidence.LOW: 2}
    return (-finding.severity.rank, confidence_rank[finding.confidence], finding.rule_id,
            finding.sort_key)


def blockers(verdict: Verdict, findings: Sequence[Finding] = (), limit: int = 5) -> tuple[Finding, ...]:
    """Up to `limit` findings that block production: the deciding ones, then the other
    critical and high findings of confidence high or medium (all of them are P0). One per
    rule first (the most severe of each), so five copies of one defect do not hide a
    second one."""
    candidates = list(verdict.deciding)
    candidates += [f for f in sorted(findings, key=severity_order)
                   if f.severity in (Severity.CRITICAL, Severity.HIGH) and f.confidence in DECIDING
                   and f not in candidates]
    picked: list[Finding] = []
    seen: set[str] = set()
    for finding in candidates:
        if finding.rule_id not in seen and len(picked) < limit:
            picked.append(finding)
            seen.add(finding.rule_id)
    for finding in candidates:
        if len(picked) >= limit:
            break
        if finding not in picked:
            picked.append(finding)
    return tuple(picked)


# -- fix plan --------------------------------------------------------------------------------
# Rules closed by the same change. A group goes into the phase of its most severe finding,
# with every finding of the group (one change fixes them all).
FIX_GROUPS: dict[str, tuple[str, ...]] = {
    "shared-state": ("PA101", "PA103", "PA104", "PA109", "PA110"),
    "single-scheduler": ("PA102",),
    "event-loop": ("PA201", "PA202", "PA206", "PA107"),
    "http-clients": ("PA203", "PA204", "PA205"),
    "db-capacity": ("PA301",),
    "queries": ("PA302", "PA303", "PA304", "PA305"),
    "transactions": ("PA106", "PA105", "PA307", "PA308"),
    "bound-sql": ("PA405",),
    "secrets": ("PA404", "PA906", "PA412"),
    "access-control": ("PA401", "PA402", "PA403"),
    "error-handling": ("PA501", "PA502", "PA503", "PA509", "PA512"),
    "task-lifecycle": ("PA108", "PA505"),
    "time-zones": ("PA504", "PA309"),
    "runtime-errors": ("PA001", "PA507", "PA510", "PA511"),
    "modern-typing": ("PA701",),
    "logging": ("PA706", "PA801", "PA802"),
    "cleanup": ("PA702", "PA705", "PA604"),
}
GROUP_OF = {rule: group for group, rules in FIX_GROUPS.items() for rule in rules}
PHASE_OF_SEVERITY = {Severity.CRITICAL: "P0", Severity.HIGH: "P0", Severity.MEDIUM: "P1",
                     Severity.LOW: "P2", Severity.INFO: "P2"}
PHASES = ("P0", "P1", "P2")


@dataclass(frozen=True)
class PlanItem:
    rule_id: str
    count: int
    effort_minutes: int  # per finding
    locations: tuple[Location, ...]  # sorted

    @property
    def total_minutes(self) -> int:
        return self.count * self.effort_minutes


@dataclass(frozen=True)
class PlanGroup:
    key: str  # a FIX_GROUPS key, or the rule id for a rule without a group
    phase: str
    items: tuple[PlanItem, ...]

    @property
    def total_minutes(self) -> int:
        return sum(item.total_minutes for item in self.items)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(item.rule_id for item in self.items)


@dataclass(frozen=True)
class FixPlan:
    groups: tuple[PlanGroup, ...]

    def phase(self, phase: str) -> tuple[PlanGroup, ...]:
        return tuple(g for g in self.groups if g.phase == phase)

    def phase_minutes(self, phase: str) -> int:
        return sum(g.total_minutes for g in self.phase(phase))


def build_plan(findings: Sequence[Finding], metas: dict[str, RuleMeta]) -> FixPlan:
    by_group: dict[str, list[Finding]] = {}
    for finding in findings:
        meta = metas.get(finding.rule_id)
        if meta is None or not meta.scored:
            continue  # analysis gaps (PA002) are not work on the audited project
        by_group.setdefault(GROUP_OF.get(finding.rule_id, finding.rule_id), []).append(finding)
    groups = []
    for key, members in by_group.items():
        worst = max(members, key=lambda f: f.severity.rank).severity
        items = []
        for rule_id in sorted({f.rule_id for f in members}):
            mine = [f for f in members if f.rule_id == rule_id]
            items.append(PlanItem(rule_id, len(mine), metas[rule_id].effort_minutes,
                                  tuple(sorted(f.location for f in mine))))
        groups.append(PlanGroup(key, PHASE_OF_SEVERITY[worst], tuple(items)))
    rank = {phase: index for index, phase in enumerate(PHASES)}

    def order(group: PlanGroup) -> tuple:
        worst = max(f.severity.rank for f in by_group[group.key])
        return (rank[group.phase], -worst, -group.total_minutes, group.key)

    return FixPlan(tuple(sorted(groups, key=order)))


# -- capacity --------------------------------------------------------------------------------
SQLALCHEMY_POOL_SIZE, SQLALCHEMY_MAX_OVERFLOW, SQLALCHEMY_POOL_TIMEOUT = 5, 10, 30
DEFAULT_LIMITS = {"postgres": (100, 3), "mysql": (151, 0)}  # max_connections, reserved for superusers
WORKER_COUNTS = (1, 2, 4, 8)
DRIVER_KINDS = {"asyncpg": "postgres", "psycopg": "postgres", "psycopg2": "postgres",
                "psycopg2-binary": "postgres", "psycopg-binary": "postgres",
                "aiomysql": "mysql", "asyncmy": "mysql", "pymysql": "mysql", "mysqlclient": "mysql"}


@dataclass(frozen=True)
class PoolFacts:
    """One engine's pool, as far as the repository says."""

    name: str
    location: Location | None
    pool_size: int | None
    max_overflow: int | None
    pool_timeout: float | None
    null_pool: bool
    origin: str  # "settings" (the settings model) or "PA301" (the rule's details)
    sources: tuple[tuple[str, str], ...] = ()  # (parameter, where its value comes from)

    @property
    def per_worker(self) -> int | None:
        if self.null_pool or self.pool_size is None or self.max_overflow is None:
            return None
        return self.pool_size + max(self.max_overflow, 0)


@dataclass(frozen=True)
class DatabaseLimit:
    kind: str  # postgres, mysql, or "" when no database was recognised
    max_connections: int | None
    reserved: int
    written: bool  # True: the value is in the repository; False: the server's default
    location: Location | None

    @property
    def usable(self) -> int | None:
        return None if self.max_connections is None else self.max_connections - self.reserved


@dataclass(frozen=True)
class CapacityRow:
    workers: int
    deployed: bool  # the worker count the deployment files set
    sessions: int | None  # workers x sessions per worker
    exceeds: bool | None  # sessions > usable database connections


@dataclass(frozen=True)
class Capacity:
    workers: int | None
    workers_source: str
    workers_location: Location | None
    pools: tuple[PoolFacts, ...]
    per_worker: int | None  # sessions one worker process can hold open at once
    pool_timeout: float | None
    database: DatabaseLimit
    rows: tuple[CapacityRow, ...]

    @property
    def max_workers_within_limit(self) -> int | None:
        usable = self.database.usable
        if usable is None or not self.per_worker:
            return None
        return usable // self.per_worker


def _int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _resolved(resolved):
    """(value, source) of a settings-model Resolved; value None when it is not known."""
    if resolved is None or not getattr(resolved, "known", False):
        return None, getattr(resolved, "source", "") or "unknown"
    return getattr(resolved, "value", None), getattr(resolved, "source", "")


def pools_from_settings(project) -> tuple[PoolFacts, ...] | None:
    """Engines of the settings model (model/settings.py), when the model has one."""
    settings = getattr(project, "settings", None) if project is not None else None
    engines = getattr(settings, "engines", None)
    if not callable(engines):
        return None
    pools = []
    for engine in engines():
        if getattr(engine, "module_kind", "source") != "source":
            continue  # test and migration engines do not serve requests
        size, size_from = _resolved(engine.pool_size)
        overflow, overflow_from = _resolved(engine.max_overflow)
        timeout, timeout_from = _resolved(engine.pool_timeout)
        null_pool = getattr(engine, "uses_null_pool", False)
        null_pool = null_pool() if callable(null_pool) else bool(null_pool)
        pools.append(PoolFacts(
            name=getattr(engine, "target", "") or "engine", location=engine.location,
            pool_size=_int(size), max_overflow=_int(overflow), pool_timeout=_number(timeout),
            null_pool=null_pool, origin="settings",
            sources=(("pool_size", size_from), ("max_overflow", overflow_from),
                     ("pool_timeout", timeout_from))))
    return tuple(sorted(pools, key=lambda p: (p.location or Location(""), p.name)))


def pools_from_findings(findings: Iterable[Finding]) -> tuple[PoolFacts, ...]:
    """PA301 (pool-capacity) puts the pool it reasoned about in its details."""
    pools = []
    for finding in findings:
        if finding.rule_id != "PA301":
            continue
        details = dict(finding.details)
        if "pool_size" not in details and "max_overflow" not in details:
            continue
        pools.append(PoolFacts(
            name=str(details.get("engine", "") or finding.anchor or "engine"),
            location=finding.location, pool_size=_int(details.get("pool_size")),
            max_overflow=_int(details.get("max_overflow")),
            pool_timeout=_number(details.get("pool_timeout")),
            null_pool=bool(details.get("null_pool", False)), origin="PA301"))
    unique = {(p.location, p.name): p for p in pools}
    return tuple(unique[key] for key in sorted(unique, key=lambda k: (k[0] or Location(""), k[1])))


def database_limit(project, pools: Sequence[PoolFacts]) -> DatabaseLimit:
    kind = ""
    if project is not None:
        service = project.deployment.database_service()
        if service is not None and service.kind in DEFAULT_LIMITS:
            if service.max_connections is not None:
                return DatabaseLimit(service.kind, service.max_connections,
                                     DEFAULT_LIMITS[service.kind][1], True,
                                     service.max_connections_location or service.location)
            kind = service.kind
        if not kind:
            for engine in _source_engines(project):
                dialect = (getattr(engine, "dialect", None) or "").lower()
                kind = "postgres" if dialect.startswith("postgres") else (
                    "mysql" if dialect.startswith(("mysql", "mariadb")) else "")
                if kind:
                    break
        if not kind:
            names = project.dependencies.names("main") or project.dependencies.names()
            kinds = sorted({DRIVER_KINDS[n] for n in names if n in DRIVER_KINDS})
            kind = kinds[0] if len(kinds) == 1 else ""
    if kind not in DEFAULT_LIMITS:
        return DatabaseLimit("", None, 0, False, None)
    limit, reserved = DEFAULT_LIMITS[kind]
    return DatabaseLimit(kind, limit, reserved, False, None)


def _source_engines(project) -> list:
    settings = getattr(project, "settings", None)
    engines = getattr(settings, "engines", None)
    if not callable(engines):
        return []
    return [e for e in engines() if getattr(e, "module_kind", "source") == "source"]


def build_capacity(result: AuditResult) -> Capacity:
    project = result.project
    pools = pools_from_settings(project)
    if not pools or any(p.per_worker is None for p in pools):
        # PA301 may know more (it falls back to same-named settings fields, with lower
        # confidence) when the settings model cannot trace a value.
        pools = pools_from_findings(result.findings) or pools
    per_worker: int | None = None
    if pools and all(p.per_worker is not None for p in pools):
        # Each worker process builds every module-level engine: their pools add up.
        per_worker = sum(p.per_worker for p in pools)
    timeouts = [p.pool_timeout for p in pools if p.pool_timeout is not None]
    workers = getattr(project, "workers", None) if project is not None else None
    count = workers.count if workers is not None else None
    database = database_limit(project, pools)
    rows = []
    for n in sorted(set(WORKER_COUNTS) | ({count} if count else set())):
        sessions = n * per_worker if per_worker is not None else None
        usable = database.usable
        exceeds = None if sessions is None or usable is None else sessions > usable
        rows.append(CapacityRow(n, n == count, sessions, exceeds))
    return Capacity(
        workers=count,
        workers_source=workers.source if workers is not None else "no project model",
        workers_location=workers.location if workers is not None else None,
        pools=tuple(pools), per_worker=per_worker,
        pool_timeout=min(timeouts) if timeouts else None,
        database=database, rows=tuple(rows))


# -- the whole assessment --------------------------------------------------------------------
@dataclass(frozen=True)
class Assessment:
    scorecard: Scorecard
    verdict: Verdict
    blockers: tuple[Finding, ...]
    plan: FixPlan
    capacity: Capacity
    counts: dict[str, int]  # by severity value, unsuppressed findings only


def rule_metas() -> dict[str, RuleMeta]:
    return {cls.meta.id: cls.meta for cls in all_rules()}


def code_lines_of(project) -> int:
    if project is None:
        return 0
    return sum(m.stats.code for m in project.summaries("source"))


def positive(finding: Finding) -> bool:
    """Rules may report good practice as a finding with details positive=True."""
    return any(key == "positive" and value is True for key, value in finding.details)


def assess(result: AuditResult, metas: dict[str, RuleMeta] | None = None) -> Assessment:
    metas = metas or rule_metas()
    findings = [f for f in result.findings if not positive(f)]
    verdict = decide_verdict(findings)
    counts = Counter(f.severity.value for f in findings)
    return Assessment(
        scorecard=score_dimensions(findings, result.rules_run, code_lines_of(result.project), metas),
        verdict=verdict,
        blockers=blockers(verdict, findings),
        plan=build_plan(findings, metas),
        capacity=build_capacity(result),
        counts={s.value: counts.get(s.value, 0) for s in Severity},
    )
