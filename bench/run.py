#!/usr/bin/env python3
"""Speed and memory of prodaudit against a bare parse and ruff, on one or more trees.

    python bench/run.py                      # the synthetic corpus (generated if missing)
    python bench/run.py --lines 50000        # a smaller synthetic corpus
    python bench/run.py PATH [PATH ...]      # real trees, e.g. a repository checkout
    python bench/run.py --runs 9 --json results.json

Per tree it prints: files and lines; bare `ast.parse` time; prodaudit cold, warm and
warm-with-one-file-changed times; ruff time; prodaudit's peak RSS; the ratios against
the targets (cold <= 3x bare parse, warm <= 1 s on 200k lines); and prodaudit's own
`--profile` stage times. See bench/README.md for how each figure is measured.

prodaudit always runs as `sys.executable -m prodaudit`, in a subprocess, so the figures
include interpreter start-up and imports, as a user sees them.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # bench/generate.py, beside this file

TARGET_COLD_RATIO = 3.0   # cold prodaudit <= 3x bare parse
TARGET_WARM_SECONDS = 1.0  # warm prodaudit <= 1 s (stated for 200k lines)
# The multi-worker, async and reliability rules (and the facts only they need) may add at
# most this share to a cold audit without them.
TARGET_FAMILIES_SHARE = 0.5
FAMILIES = "PA1,PA2,PA5"
GNU_TIME = "/usr/bin/time"
SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox",
             ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist",
             "site-packages"}


# -- measuring ----------------------------------------------------------------------------
@dataclass
class Sample:
    seconds: float                  # wall clock
    cpu: float = 0.0                # user + sys of the measured process(es)
    others: float = 0.0             # share of the machine's CPUs busy with other processes
    rss_kb: int | None = None
    stages: dict[str, float] = field(default_factory=dict)  # stage -> ms, from --profile


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


# -- the machine is shared: measure and wait out other load --------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
NCPU = os.cpu_count() or 1


def cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine, from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy, busy + idle


def busy_share(window: float = 1.0) -> float | None:
    """Share of all CPUs busy over the next `window` seconds (this process is idle)."""
    before = cpu_ticks()
    time.sleep(window)
    after = cpu_ticks()
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def wait_for_idle(max_wait: float, threshold: float, log) -> None:
    """Before a timed run: wait (at most max_wait s) until other load is under threshold."""
    if max_wait <= 0:
        return
    deadline = time.monotonic() + max_wait
    announced = False
    while True:
        share = busy_share()
        if share is None or share < threshold:
            return
        if time.monotonic() >= deadline:
            log(f"    machine still {share:.0%} busy after {max_wait:.0f} s; measuring anyway")
            return
        if not announced:
            log(f"    machine {share:.0%} busy with other processes; waiting (max {max_wait:.0f} s)")
            announced = True


class Measure:
    """Wall time, and how busy the machine was with *other* processes meanwhile."""

    def __enter__(self) -> Self:
        self.ticks = cpu_ticks()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start
        self.end_ticks = cpu_ticks()

    def others(self, own_cpu: float) -> float:
        if self.ticks is None or self.end_ticks is None or self.seconds <= 0:
            return 0.0
        busy = (self.end_ticks[0] - self.ticks[0]) / CLK_TCK
        return max(0.0, busy - own_cpu) / (self.seconds * NCPU)


def wait_child(proc: subprocess.Popen) -> tuple[int, float, int]:
    """Reap a child with wait4: (exit code, user+sys seconds, ru_maxrss kB). The rusage
    covers the child and every descendant it waited for."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def rss_method() -> str:
    """How peak RSS is measured on this machine: 'gnu-time', 'psutil', 'proc' or 'none'."""
    if os.path.exists(GNU_TIME):
        try:
            probe = subprocess.run([GNU_TIME, "-v", "true"], check=False, capture_output=True,
                                   text=True, timeout=30)
            if "Maximum resident set size" in probe.stderr:
                return "gnu-time"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        import psutil  # noqa: F401
        return "psutil"
    except ImportError:
        pass
    return "proc" if os.path.exists("/proc/self/status") else "none"


RSS_METHODS = {
    "gnu-time": "/usr/bin/time -v, 'Maximum resident set size': the largest single process "
                "among prodaudit and the children it waited for (summary workers, ruff)",
    "psutil": "psutil polling every 10 ms: the peak of the summed RSS of prodaudit and all "
              "its descendants",
    "proc": "polling /proc/PID/status VmHWM every 10 ms: the prodaudit main process only",
    "none": "not measured (no /usr/bin/time, psutil or /proc)",
}


class Poller(threading.Thread):
    """Fallback peak-RSS sampler when GNU time is missing."""

    def __init__(self, pid: int, method: str):
        super().__init__(daemon=True)
        self.pid, self.method, self.peak_kb, self.done = pid, method, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_kb = max(self.peak_kb, self.sample())
            self.done.wait(0.01)

    def sample(self) -> int:
        """Current figure in kB; 0 when the process is gone or not readable."""
        if self.method == "psutil":
            import psutil

            try:
                proc = psutil.Process(self.pid)
                total = proc.memory_info().rss
                children = proc.children(recursive=True)
            except psutil.Error:
                return 0
            for child in children:
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    continue  # exited between listing and reading
            return total // 1024
        try:
            with open(f"/proc/{self.pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0


STAGE_LINE = re.compile(r"^(\w+)\s+([\d.]+) ms$")
RULE_LINE = re.compile(r"^rule (\S+)\s+([\d.]+) ms$")  # per-rule times, when prodaudit prints them
MAXRSS_LINE = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def child_env(scratch: Path) -> dict[str, str]:
    """prodaudit's environment: byte-code cached (in the scratch dir, never in the source
    tree), as for an installed package, even where PYTHONDONTWRITEBYTECODE is set; without
    this every run would recompile all of prodaudit's modules."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def run_prodaudit(tree: Path, cache_dir: Path, report: Path, method: str,
                  jobs: int | None, extra: tuple[str, ...] = ()) -> Sample:
    command = [sys.executable, "-m", "prodaudit", "audit", str(tree), "--format", "json",
               "--output", str(report), "--no-progress", "--cache-dir", str(cache_dir),
               "--profile", *extra]
    if jobs:
        command += ["--jobs", str(jobs)]
    if method == "gnu-time":
        command = [GNU_TIME, "-v", *command]
    with Measure() as measure:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, env=child_env(report.parent))
        poller = None
        if method in ("psutil", "proc"):
            poller = Poller(proc.pid, method)
            poller.start()
        stderr = proc.stderr.read()
        proc.stderr.close()
        returncode, cpu, _ = wait_child(proc)
    if poller:
        poller.done.set()
        poller.join()
    # 0: ran; 1: the project's own fail-on matched. Anything else is a failure.
    if returncode not in (0, 1):
        raise SystemExit(f"prodaudit failed (exit {proc.returncode}) on {tree}:\n{stderr[-3000:]}")
    stages = {}
    for line in stderr.splitlines():
        match = STAGE_LINE.match(line.strip()) or RULE_LINE.match(line.strip())
        if match:
            key = match.group(1) if match.re is STAGE_LINE else f"rule {match.group(1)}"
            stages[key] = float(match.group(2))
    rss = None
    if method == "gnu-time":
        match = MAXRSS_LINE.search(stderr)
        rss = int(match.group(1)) if match else None
    elif poller:
        rss = poller.peak_kb or None
    return Sample(measure.seconds, cpu, measure.others(cpu), rss, stages)


def python_files(tree: Path) -> tuple[list[tuple[Path, str]], str]:
    """(path, kind) of the Python files prodaudit analyses, and how they were found."""
    try:
        from prodaudit.config import load_config
        from prodaudit.discover import discover
        from prodaudit.engine import PYTHON_KINDS

        found = discover(tree, load_config(tree, None))
        return ([(found.root / f.path, f.kind) for f in found.files
                 if f.kind in PYTHON_KINDS and f.is_python], "prodaudit's discovery")
    except ImportError:
        files = []
        for dirpath, dirnames, filenames in os.walk(tree):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            files += [(Path(dirpath) / n, "source") for n in sorted(filenames) if n.endswith(".py")]
        return files, "os.walk (prodaudit not importable here)"


def bare_parse(paths: list[Path]) -> Sample:
    """Read and ast.parse every file, in this process, on one core."""
    cpu = time.process_time()
    with Measure() as measure:
        for path in paths:
            try:
                data = path.read_bytes()
                ast.parse(data, str(path))
            except (OSError, SyntaxError, ValueError):
                continue  # prodaudit reports these files as unparseable; parse cost still paid
    cpu = time.process_time() - cpu
    return Sample(measure.seconds, cpu, measure.others(cpu))


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin

    return os.fsdecode(find_ruff_bin())


def run_ruff(binary: str, tree: Path) -> Sample:
    command = [binary, "check", "--isolated", "--no-cache", "--select", "ALL", "--exit-zero",
               "-q", str(tree)]
    with Measure() as measure:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        stderr = proc.stderr.read()
        proc.stderr.close()
        returncode, cpu, rss = wait_child(proc)
    if returncode != 0:
        raise SystemExit(f"ruff failed (exit {returncode}): {stderr[-2000:]}")
    return Sample(measure.seconds, cpu, measure.others(cpu), rss)


# -- one tree -----------------------------------------------------------------------------
@dataclass
class Settings:
    runs: int
    method: str
    jobs: int | None
    idle_wait: float
    idle_threshold: float


def summary(samples: list[Sample]) -> dict:
    if not samples:
        return {}
    median_run = sorted(samples, key=lambda s: s.seconds)[len(samples) // 2]
    out = {"seconds": spread([s.seconds for s in samples]),
           "cpu_seconds": spread([s.cpu for s in samples]),
           "others_busy": spread([s.others for s in samples]),
           "median_run_stages_ms": median_run.stages}
    rss = [s.rss_kb for s in samples if s.rss_kb]
    if rss:
        out["peak_rss_kb"] = spread(rss)
    return out


def bench_tree(tree: Path, opts: Settings, log) -> dict:
    tree = tree.resolve()
    runs = opts.runs
    files, found_by = python_files(tree)
    paths = [p for p, _ in files]
    lines = 0
    for path in paths:  # also pulls every file into the OS page cache before timing
        try:
            data = path.read_bytes()
        except OSError:
            continue
        lines += data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    result: dict = {"tree": str(tree), "py_files": len(paths), "lines": lines,
                    "file_set": found_by}
    log(f"{tree}: {len(paths)} .py files, {lines} lines ({found_by})")

    def idle() -> None:
        wait_for_idle(opts.idle_wait, opts.idle_threshold, log)

    samples: dict[str, list[Sample]] = {"bare_parse": [], "ruff": [], "cold": [], "warm": [],
                                        "warm_one_changed": [], "cold_without_families": []}
    for i in range(runs):
        log(f"  bare ast.parse {i + 1}/{runs}")
        idle()
        samples["bare_parse"].append(bare_parse(paths))

    binary = ruff_binary()
    run_ruff(binary, tree)  # warm-up, not counted
    for i in range(runs):
        log(f"  ruff {i + 1}/{runs}")
        idle()
        samples["ruff"].append(run_ruff(binary, tree))

    scratch = Path(tempfile.mkdtemp(prefix="prodaudit-bench-"))
    sources = sorted((p for p, kind in files if kind == "source"),
                     key=lambda p: (p.stat().st_size, str(p)))
    changed = sources[len(sources) // 2] if sources else (paths[len(paths) // 2] if paths else None)
    original = changed.read_bytes() if changed else b""
    original_stat = changed.stat() if changed else None
    report = scratch / "report.json"
    try:
        # One untimed run first: byte-compiles prodaudit if needed, warms the page cache.
        log("  prodaudit warm-up (not counted)")
        run_prodaudit(tree, scratch / "warmup-cache", report, opts.method, opts.jobs)
        shutil.rmtree(scratch / "warmup-cache", ignore_errors=True)

        for i in range(runs):
            log(f"  prodaudit cold {i + 1}/{runs}")
            cache_dir = scratch / f"cold-{i}"  # fresh, empty cache every run
            idle()
            samples["cold"].append(run_prodaudit(tree, cache_dir, report, opts.method, opts.jobs))
            if i < runs - 1:
                shutil.rmtree(cache_dir, ignore_errors=True)
        warm_cache = scratch / f"cold-{runs - 1}"  # filled by the last cold run

        for i in range(runs):
            log(f"  prodaudit cold without {FAMILIES} {i + 1}/{runs}")
            cache_dir = scratch / f"cold-without-{i}"
            idle()
            samples["cold_without_families"].append(run_prodaudit(
                tree, cache_dir, report, opts.method, opts.jobs, ("--disable", FAMILIES)))
            shutil.rmtree(cache_dir, ignore_errors=True)

        for i in range(runs):
            log(f"  prodaudit warm {i + 1}/{runs}")
            idle()
            samples["warm"].append(run_prodaudit(tree, warm_cache, report, opts.method, opts.jobs))

        if changed is not None:
            for i in range(runs):
                log(f"  prodaudit warm, one file changed {i + 1}/{runs}")
                # A new comment each run: that file (and only it) misses the cache.
                changed.write_bytes(original + f"\n# prodaudit bench edit {i}\n".encode())
                idle()
                samples["warm_one_changed"].append(
                    run_prodaudit(tree, warm_cache, report, opts.method, opts.jobs))
    finally:
        if changed is not None:
            changed.write_bytes(original)
            os.utime(changed, ns=(original_stat.st_atime_ns, original_stat.st_mtime_ns))
        shutil.rmtree(scratch, ignore_errors=True)

    for name, values in samples.items():
        result[name] = summary(values)
    result["changed_file"] = str(changed.relative_to(tree)) if changed else None
    bare = result["bare_parse"]["seconds"]["median"]
    result["cold_over_bare"] = result["cold"]["seconds"]["median"] / bare if bare else None
    bare_cpu = result["bare_parse"]["cpu_seconds"]["median"]
    result["cold_cpu_over_bare_cpu"] = (result["cold"]["cpu_seconds"]["median"] / bare_cpu
                                        if bare_cpu else None)
    without = result["cold_without_families"]
    for unit in ("seconds", "cpu_seconds"):
        base = without["cpu_seconds" if unit == "cpu_seconds" else "seconds"]["median"]
        result[f"families_share_{unit}"] = (result["cold"][unit]["median"] - base) / base if base else None
    return result


# -- reporting ----------------------------------------------------------------------------
def fmt_s(stats: dict) -> str:
    return f"{stats['median']:.2f} s ({stats['min']:.2f}-{stats['max']:.2f})"


def fmt_mb(stats: dict | None) -> str:
    if not stats:
        return "n/a"
    return f"{stats['median'] / 1024:.0f} MB ({stats['min'] / 1024:.0f}-{stats['max'] / 1024:.0f})"


def fmt_share(stats: dict) -> str:
    return f"{stats['median']:.0%} (max {stats['max']:.0%})"


def render(result: dict, runs: int) -> str:
    cold, warm, one = result["cold"], result["warm"], result["warm_one_changed"]
    ratio = result["cold_over_bare"]
    warm_s = warm["seconds"]["median"]
    scale = "" if abs(result["lines"] - 200_000) <= 20_000 else \
        f" (target stated for 200k lines; this tree has {result['lines'] // 1000}k)"
    verdict_cold = "PASS" if ratio <= TARGET_COLD_RATIO else "MISS"
    verdict_warm = "PASS" if warm_s <= TARGET_WARM_SECONDS else "MISS"
    timed = [
        ("bare ast.parse (1 core, in-process)", result["bare_parse"]),
        ("prodaudit cold (empty cache)", cold),
        (f"prodaudit cold, --disable {FAMILIES}", result["cold_without_families"]),
        ("prodaudit warm (same cache)", warm),
        ("prodaudit warm, 1 file changed", one),
        ("ruff check --select ALL (no cache)", result["ruff"]),
    ]
    out = [f"### {result['tree']}", "",
           (f"{result['py_files']} Python files, {result['lines']} lines "
            f"(file set: {result['file_set']}); median of {runs} runs (min-max); "
            f"changed file: {result['changed_file']}"), "",
           "| figure | wall | CPU (user+sys) | others' load | peak RSS |",
           "|---|---|---|---|---|"]
    for label, part in timed:
        if not part:
            out.append(f"| {label} | n/a | | | |")
            continue
        rss = fmt_mb(part.get("peak_rss_kb")) if "peak_rss_kb" in part else ""
        out.append(f"| {label} | {fmt_s(part['seconds'])} | {fmt_s(part['cpu_seconds'])} | "
                   f"{fmt_share(part['others_busy'])} | {rss} |")
    out += ["", "| ratio | value | target |", "|---|---|---|",
            f"| cold / bare parse (wall) | {ratio:.1f}x | <= {TARGET_COLD_RATIO:.0f}x: {verdict_cold} |",
            f"| warm (wall) | {warm_s:.2f} s | <= {TARGET_WARM_SECONDS:.0f} s: {verdict_warm}{scale} |",
            f"| cold CPU / bare parse CPU | {result['cold_cpu_over_bare_cpu']:.1f}x | (contention-free view) |",
            f"| cold / ruff (wall) | {cold['seconds']['median'] / result['ruff']['seconds']['median']:.1f}x | |"]
    share_cpu, share_wall = result["families_share_cpu_seconds"], result["families_share_seconds"]
    verdict_share = "PASS" if share_cpu is not None and share_cpu <= TARGET_FAMILIES_SHARE else "MISS"
    out += [f"| {FAMILIES} rules added to cold, CPU | {share_cpu:+.0%} | <= {TARGET_FAMILIES_SHARE:.0%}: {verdict_share} |",
            f"| {FAMILIES} rules added to cold, wall | {share_wall:+.0%} | |"]
    stages = [s for s in cold["median_run_stages_ms"] if not s.startswith("rule ")]
    for extra in (warm, one):
        for stage in extra.get("median_run_stages_ms", {}):
            if stage not in stages and not stage.startswith("rule "):
                stages.append(stage)
    # The slowest rules of the median cold run, when prodaudit's --profile lists them.
    rules = sorted((s for s in cold["median_run_stages_ms"] if s.startswith("rule ")),
                   key=lambda s: -cold["median_run_stages_ms"][s])[:8]
    stages += rules
    out += ["", "prodaudit `--profile` stages of the median run (ms):", "",
            "| stage | cold | warm | warm, 1 changed |", "|---|---:|---:|---:|"]
    for stage in stages:
        cells = [f"{part['median_run_stages_ms'][stage]:.1f}"
                 if part and stage in part.get("median_run_stages_ms", {}) else "n/a"
                 for part in (cold, warm, one)]
        out.append(f"| {stage} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def machine_facts(method: str) -> dict:
    cpu_model = ""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ruff_version = subprocess.run([ruff_binary(), "--version"], check=False,
                                      capture_output=True, text=True).stdout.strip()
    except (ImportError, OSError) as exc:  # the harness needs ruff anyway; say why it is missing
        ruff_version = f"unavailable ({exc})"
    version = subprocess.run([sys.executable, "-m", "prodaudit", "--version"],
                             check=False, capture_output=True, text=True)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(), "cpus_usable": usable, "cpu_model": cpu_model,
        "python": sys.version.split()[0], "python_executable": sys.executable,
        "platform": platform.platform(), "ruff": ruff_version,
        "prodaudit": version.stdout.strip() or version.stderr.strip(),
        "rss_method": method,
    }


def render_facts(facts: dict) -> str:
    return "\n".join([
        f"date: {facts['date']}",
        f"CPUs: {facts['cpu_count']} ({facts['cpus_usable']} usable) {facts['cpu_model']}",
        f"Python: {facts['python']} ({facts['python_executable']}); {facts['platform']}",
        f"{facts['prodaudit']}; {facts['ruff']}",
        f"peak RSS: {RSS_METHODS[facts['rss_method']]}",
    ])


def ensure_corpus(out: Path, lines: int, seed: int, log) -> Path:
    marker = generate.read_marker(out)
    wanted = {"generator": generate.generator_version(), "seed": seed, "lines_requested": lines}
    if marker and all(marker.get(k) == v for k, v in wanted.items()):
        log(f"using the synthetic corpus in {out}")
    else:
        log(f"generating the synthetic corpus in {out} ({lines} lines, seed {seed})")
        generate.generate(lines, out, seed, quiet=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="trees to benchmark (default: the synthetic corpus)")
    parser.add_argument("--lines", type=int, default=200_000,
                        help="size of the synthetic corpus (default 200000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic corpus")
    parser.add_argument("--corpus", type=Path, default=HERE / "corpus" / "synthetic",
                        help="where the synthetic corpus lives")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (default 5)")
    parser.add_argument("--jobs", type=int, default=None, help="pass --jobs N to prodaudit")
    parser.add_argument("--json", type=Path, help="also write every sample to this JSON file")
    parser.add_argument("--idle-wait", type=float, default=120.0, metavar="SECONDS",
                        help="before each timed run, wait up to this long for other load on "
                             "the machine to drop (0: never wait; default 120)")
    parser.add_argument("--idle-threshold", type=float, default=0.15, metavar="SHARE",
                        help="machine counts as idle below this busy share of all CPUs "
                             "(default 0.15)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    for path in args.paths:
        if not path.is_dir():
            parser.error(f"not a directory: {path}")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    trees = args.paths or [ensure_corpus(args.corpus, args.lines, args.seed, log)]
    method = rss_method()
    facts = machine_facts(method)
    opts = Settings(args.runs, method, args.jobs, args.idle_wait, args.idle_threshold)
    results = [bench_tree(tree, opts, log) for tree in trees]

    print(render_facts(facts))
    for result in results:
        print()
        print(render(result, args.runs))
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "runs": args.runs, "trees": results},
                                        indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
