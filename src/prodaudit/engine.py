"""The pipeline, in one direction, each stage timed:

discover -> summarize modules (parallel, cached) -> project model -> rules (ours, and ruff
bridged once) -> suppress -> fingerprint and sort. Rendering is the CLI's business.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from prodaudit.cache import Cache, dumps
from prodaudit.config import Config, load_config
from prodaudit.discover import Discovery, SourceFile, discover
from prodaudit.errors import internal_error_finding, strict_mode
from prodaudit.findings import AuditNote, AuditResult, Finding, assign_fingerprints
from prodaudit.model.dependencies import read_dependencies
from prodaudit.model.extractors import REPORT_NEEDS
from prodaudit.model.facts import ModuleSummary
from prodaudit.model.project import Project
from prodaudit.model.summary import summarize
from prodaudit.rule_runner import run_project_rules
from prodaudit.rules.base import BridgedRule, FileRule, ProjectRule, Rule, all_rules, with_severity
from prodaudit.rules.ruff_bridge import RuffBridge
from prodaudit.suppress import apply_suppressions

PYTHON_KINDS = ("source", "test", "migration")
# Below this much uncached work a process pool costs more than it saves.
PARALLEL_MIN_FILES = 64
PARALLEL_MIN_BYTES = 1_500_000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AuditOptions:
    config_path: Path | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    jobs: int = 0  # 0 = as many as CPUs
    progress: Progress | None = None
    # From the command line: --select replaces the config's select, --disable adds to it.
    select: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    # False for `prodaudit inventory`: build the model, run no rule.
    run_rules: bool = True
    # When nothing in the tree changed since a cached run, return that run's findings
    # without building the model (the result then has no project: only for renderers
    # that need findings alone, i.e. terminal and JSON).
    reuse_result: bool = False


class Timer:
    def __init__(self) -> None:
        self.stages: list[tuple[str, float]] = []
        self._start = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.stages.append((stage, now - self._start))
        self._start = now

    def move(self, seconds: float, source: str, target: str) -> None:
        """Charge `seconds` of stage `source` to stage `target` (models built lazily while
        the rules ran are model time, not rule time)."""
        stages = dict(self.stages)
        stages[source] -= seconds
        stages[target] += seconds
        self.stages = [(name, stages[name]) for name, _ in self.stages]


def selected_rules(config: Config) -> list[type[Rule]]:
    chosen = []
    for cls in all_rules():
        meta = cls.meta
        # Engine rules cannot be deselected by a family prefix; only by explicit id.
        if not config.rule_enabled(meta.id, meta.slug, preview=meta.status == "preview"):
            continue
        override = config.severity_for(meta.id)
        if override is not None:
            cls = with_severity(cls, override)
        chosen.append(cls)
    return chosen


# -- the summary step, in this process or in workers -------------------------------------
_worker_rules: list[FileRule] = []
_worker_extractors: tuple[str, ...] | None = None


def _init_worker(rule_ids: Sequence[str], severity: tuple, extractor_names: tuple[str, ...] | None) -> None:
    global _worker_rules, _worker_extractors
    _worker_rules = _instantiate_file_rules(rule_ids, severity)
    _worker_extractors = extractor_names


def needed_extractors(rules: Sequence[type[Rule]], run_rules: bool) -> tuple[str, ...] | None:
    """The extractors the selected rules and the report read facts from; None (all of them)
    when no rule runs, i.e. for the inventory, which shows every model."""
    if not run_rules:
        return None
    names = set(REPORT_NEEDS)
    for cls in rules:
        names.update(cls.needs)
    return tuple(sorted(names))


def _instantiate_file_rules(rule_ids: Sequence[str], severity: tuple) -> list[FileRule]:
    config = Config(severity=severity)
    by_id = {cls.meta.id: cls for cls in all_rules()}
    rules = []
    for rule_id in rule_ids:
        cls = by_id[rule_id]
        override = config.severity_for(rule_id)
        if override is not None:
            cls = with_severity(cls, override)
        rules.append(cls())
    return rules


def _summarize_one(root: str, file: SourceFile, rules: Sequence[FileRule],
                   extractor_names: tuple[str, ...] | None) -> ModuleSummary:
    path = os.path.join(root, file.path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        from prodaudit.model.facts import ParseProblem

        return ModuleSummary(file.path, file.module, file.kind, file.is_package, "",
                             problem=ParseProblem("decode", f"cannot read: {exc.strerror or exc}"))
    digest = hashlib.sha256(data).hexdigest()
    try:
        return summarize(file.path, file.module, file.kind, file.is_package, data, digest, rules,
                         extractor_names)
    except Exception as exc:  # a bug of ours on one file must not stop the audit
        if strict_mode():
            raise
        return ModuleSummary(file.path, file.module, file.kind, file.is_package, digest,
                             findings=(internal_error_finding("summary", file.path, exc),))


def _summarize_in_worker(args: tuple[str, SourceFile]) -> bytes:
    # Pickled here, once: the parent unpickles it and writes these same bytes to the cache
    # instead of pickling the summary a second time.
    root, file = args
    return dumps(_summarize_one(root, file, _worker_rules, _worker_extractors))


def file_digests(root: Path, files: Sequence[SourceFile]) -> dict[str, str]:
    """Content hash per readable file; unreadable ones are left to the summary step."""
    digests = {}
    base = str(root)  # os.path.join and open: half the cost of a Path per file
    for file in files:
        try:
            with open(os.path.join(base, file.path), "rb") as handle:
                digests[file.path] = hashlib.sha256(handle.read()).hexdigest()
        except OSError:
            continue
    return digests


def summarize_files(root: Path, files: Sequence[SourceFile], digests: dict[str, str],
                    file_rules: list[type[FileRule]], config: Config, cache: Cache, jobs: int,
                    progress: Progress | None,
                    extractor_names: tuple[str, ...] | None = None) -> dict[str, ModuleSummary]:
    """Module summaries by path, from the cache where the content is unchanged."""
    rule_ids = [cls.meta.id for cls in file_rules]
    extracted = "all" if extractor_names is None else ",".join(extractor_names)
    config_part = f"{config.digest()}{','.join(rule_ids)};{extracted}"
    summaries: dict[str, ModuleSummary] = {}
    pickled: dict[str, bytes] = {}  # summaries that came from workers, as they came
    todo: list[SourceFile] = []
    keys: dict[str, str] = {}
    for file in files:
        digest = digests.get(file.path)
        if digest is None:
            todo.append(file)
            continue
        key = cache.key("summary", config_part, file.path, file.kind, digest)
        keys[file.path] = key
        hit = cache.get(key)
        if hit is not None:
            summaries[file.path] = hit
        else:
            todo.append(file)
    total = len(files)
    done = total - len(todo)
    if progress:
        progress("summarize", done, total)
    todo_bytes = sum(f.size for f in todo)
    workers = jobs or os.cpu_count() or 1
    parallel = workers > 1 and len(todo) >= PARALLEL_MIN_FILES and todo_bytes >= PARALLEL_MIN_BYTES
    if parallel:
        # Imported here: a warm run that reuses the cached result never starts a pool.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork") if sys.platform == "linux" else None
        # Big files first so a slow one does not start last.
        ordered = sorted(todo, key=lambda f: -f.size)
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context,
                                 initializer=_init_worker,
                                 initargs=(rule_ids, config.severity, extractor_names)) as pool:
            results = pool.map(_summarize_in_worker, [(str(root), f) for f in ordered],
                               chunksize=max(1, len(ordered) // (workers * 8)))
            for data in results:
                summary = pickle.loads(data)
                summaries[summary.path] = summary
                pickled[summary.path] = data
                done += 1
                if progress:
                    progress("summarize", done, total)
    else:
        rules = _instantiate_file_rules(rule_ids, config.severity)
        for file in todo:
            summaries[file.path] = _summarize_one(str(root), file, rules, extractor_names)
            done += 1
            if progress:
                progress("summarize", done, total)
    for file in todo:
        summary = summaries[file.path]
        # Only cache what was read as the content we hashed (a file changed mid-audit is not).
        if summary.digest and keys.get(file.path) and summary.digest == digests.get(file.path):
            if file.path in pickled:
                cache.put_pickled(keys[file.path], pickled[file.path])
            else:
                cache.put(keys[file.path], summary)
    return summaries


def _rule_helpers(jobs: int, python_files: Sequence[SourceFile]) -> int:
    """Processes to fork beside this one for the project rules: none on a tree too small
    to repay a fork (the same bar as the summary pool, on the whole tree: a warm run with
    one file changed runs every project rule again)."""
    workers = jobs or os.cpu_count() or 1
    if len(python_files) < PARALLEL_MIN_FILES or sum(f.size for f in python_files) < PARALLEL_MIN_BYTES:
        return 0
    return workers - 1


def requires_python(config: Config, dependencies) -> str:
    """The oldest Python the project supports: config first, then requires-python (or
    poetry's python) from whichever pyproject.toml declares it (backend/pyproject.toml in
    a monorepo)."""
    if config.python_version:
        return f">={config.python_version}"
    return dependencies.requires_python or ""


def run_audit(target: Path, options: AuditOptions = AuditOptions()) -> AuditResult:
    timer = Timer()
    config = load_config(target, options.config_path)
    if options.select:
        config = replace(config, select=options.select)
    if options.disable:
        config = replace(config, disable=config.disable + options.disable)
    discovery: Discovery = discover(target, config)
    root = discovery.root
    notes: list[AuditNote] = [*config.notes, *discovery.notes]
    timer.lap("discover")

    rules = selected_rules(config) if options.run_rules else []
    file_rules = [r for r in rules if issubclass(r, FileRule)]
    project_rules = [r for r in rules if issubclass(r, ProjectRule)]
    bridged = [r for r in rules if issubclass(r, BridgedRule)]
    cache = Cache(options.cache_dir, options.use_cache)

    python_files = discovery.of_kind(*PYTHON_KINDS)
    python_files = [f for f in python_files if f.is_python]
    # Read before the summaries: ruff needs the target version, and it is cheap.
    dependencies = read_dependencies(root, [f.path for f in discovery.files])
    bridge = RuffBridge(bridged, root, cache, requires_python(config, dependencies))
    digests = file_digests(root, python_files)
    result_key = _result_key(cache, root, discovery, digests, config, rules, bridge)
    if options.reuse_result:
        cached = _cached_result(cache, result_key)
        if cached is not None:
            timer.lap("cached result")
            return replace(cached, timings=tuple(timer.stages), rule_timings=(),
                           cache_key=result_key)
    bridge.start(digests)  # ruff runs in its own process while we summarize
    misses_before = cache.misses
    summaries = summarize_files(root, python_files, digests, file_rules, config, cache,
                                options.jobs, options.progress,
                                needed_extractors(rules, options.run_rules))
    summarized = cache.misses - misses_before if cache.enabled else len(python_files)
    timer.lap("summarize")

    project = Project(root=root, discovery=discovery, config=config, modules=summaries)
    project.__dict__["dependencies"] = dependencies  # the cached model, already built
    if not options.run_rules:
        project.build_models()
    timer.lap("model")
    model_seconds_before_rules = project.model_seconds

    findings: list[Finding] = []
    for summary in summaries.values():
        findings.extend(summary.findings)
    outcomes = run_project_rules(project, project_rules, _rule_helpers(options.jobs, python_files),
                                 options.progress)
    for outcome in outcomes:
        findings.extend(outcome.findings)
    rule_times = [(f"rule {outcome.rule_id}", outcome.seconds) for outcome in outcomes]
    kinds = {f.path: f.kind for f in python_files}
    ruff_results = bridge.collect()
    findings.extend(bridge.findings(ruff_results, kinds, project.line, summaries, project))
    if bridge.problem:
        notes.append(AuditNote("warning", bridge.problem))
    if cache.problem:
        notes.append(AuditNote("warning", cache.problem))
    timer.lap("rules")
    # The models this process built while its rules ran belong to the model stage (the
    # helpers' builds overlapped with this process's work: they are not moved).
    timer.move(project.model_seconds - model_seconds_before_rules, "rules", "model")

    findings = _deduplicate(findings)
    findings = [_with_excerpt(f, project) for f in findings]
    slugs = {cls.meta.id: cls.meta.slug for cls in all_rules()}
    kept, suppressed = apply_suppressions(findings, summaries, slugs)
    kept = assign_fingerprints(kept)
    fingerprinted_suppressed = []
    for item, fingerprinted in zip(sorted(suppressed, key=lambda s: s.finding.sort_key),
                                   assign_fingerprints([s.finding for s in suppressed])):
        fingerprinted_suppressed.append(replace(item, finding=fingerprinted))
    timer.lap("suppress")

    result = AuditResult(
        root=root.name,
        findings=tuple(kept),
        suppressed=tuple(fingerprinted_suppressed),
        notes=tuple(sorted(set(notes), key=lambda n: (n.kind, n.path, n.message))),
        files_analyzed=len(discovery.files),
        rules_run=tuple(cls.meta.id for cls in rules),
        summarized=summarized,
        timings=tuple(timer.stages),
        rule_timings=tuple(sorted(rule_times, key=lambda item: -item[1])),
        project=project,
        cache_key=result_key,
    )
    # A run that could not use ruff (or the cache) is not reused: once ruff is back, the
    # next run must not keep reporting its absence.
    if not bridge.problem and not cache.problem:
        cache.put(result_key, replace(result, project=None, timings=(), rule_timings=()))
    return result


def _cached_result(cache: Cache, key: str) -> AuditResult | None:
    """The result of an audit of identical inputs, if cached (Cache.get already pauses the
    cyclic collector while it unpickles)."""
    cached = cache.get(key)
    return cached if isinstance(cached, AuditResult) else None


def _result_key(cache: Cache, root: Path, discovery: Discovery, digests: dict[str, str],
                config: Config, rules: list[type[Rule]], bridge: RuffBridge) -> str:
    """Identity of a whole audit: every file's path, kind and content, the config, the
    rules with their severities and the ruff setup (the cache key adds prodaudit itself).
    Also what the result repeats without it being in any digest: the root's name, every
    config value (the config file may be outside the tree) and the discovery notes (a
    skipped file is not hashed)."""
    content = hashlib.sha256()
    for file in discovery.files:
        digest = digests.get(file.path)
        if digest is None:
            try:
                digest = hashlib.sha256((root / file.path).read_bytes()).hexdigest()
            except OSError:
                digest = "unreadable"
        content.update(f"{file.path}\x1f{file.kind}\x1f{digest}\n".encode())
    rule_part = ",".join(f"{r.meta.id}={r.meta.severity.value}" for r in rules)
    return cache.key("result", root.name, content.hexdigest(), repr(config),
                     repr(discovery.notes), rule_part, ",".join(bridge.codes), bridge.target,
                     " ".join(bridge.settings()))


def _deduplicate(findings: list[Finding]) -> list[Finding]:
    """Where our own rule reports a line, the same rule's ruff-bridged finding there goes."""
    own = {(f.rule_id, f.location.path, f.location.line) for f in findings if not f.source}
    return [f for f in findings
            if not f.source or (f.rule_id, f.location.path, f.location.line) not in own]


def _with_excerpt(finding: Finding, project: Project) -> Finding:
    if finding.excerpt or not finding.location.line:
        return finding
    return replace(finding, excerpt=project.line(finding.location.path, finding.location.line))
