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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # bench/generate.py, beside this file

TARGET_COLD_RATIO = 3.0   # cold prodaudit <= 3x bare parse
TARGET_WARM_SECONDS = 1.0  # warm prodaudit <= 1 s (stated for 200k lines)
GNU_TIME = "/usr/bin/time"
SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox",
             ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist",
             "site-packages"}


# -- measuring ----------------------------------------------------------------------------
@dataclass
class Sample:
    seconds: float
    rss_kb: int | None = None
    stages: dict[str, float] = field(default_factory=dict)  # stage -> ms, from --profile


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


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
MAXRSS_LINE = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def run_prodaudit(tree: Path, cache_dir: Path, report: Path, method: str,
                  jobs: int | None) -> Sample:
    command = [sys.executable, "-m", "prodaudit", "audit", str(tree), "--format", "json",
               "--output", str(report), "--no-progress", "--cache-dir", str(cache_dir),
               "--profile"]
    if jobs:
        command += ["--jobs", str(jobs)]
    if method == "gnu-time":
        command = [GNU_TIME, "-v", *command]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    poller = None
    if method in ("psutil", "proc"):
        poller = Poller(proc.pid, method)
        poller.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    if poller:
        poller.done.set()
        poller.join()
    # 0: ran; 1: the project's own fail-on matched. Anything else is a failure.
    if proc.returncode not in (0, 1):
        raise SystemExit(f"prodaudit failed (exit {proc.returncode}) on {tree}:\n{stderr[-3000:]}")
    stages = {}
    for line in stderr.splitlines():
        match = STAGE_LINE.match(line.strip())
        if match:
            stages[match.group(1)] = float(match.group(2))
    rss = None
    if method == "gnu-time":
        match = MAXRSS_LINE.search(stderr)
        rss = int(match.group(1)) if match else None
    elif poller:
        rss = poller.peak_kb or None
    return Sample(seconds, rss, stages)


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


def bare_parse(paths: list[Path]) -> float:
    """Read and ast.parse every file, in this process, on one core."""
    start = time.perf_counter()
    for path in paths:
        try:
            data = path.read_bytes()
            ast.parse(data, str(path))
        except (OSError, SyntaxError, ValueError):
            continue  # prodaudit reports these files as unparseable; parse cost still paid
    return time.perf_counter() - start


def ruff_binary() -> str:
    from ruff.__main__ import find_ruff_bin

    return os.fsdecode(find_ruff_bin())


def run_ruff(binary: str, tree: Path) -> float:
    command = [binary, "check", "--isolated", "--no-cache", "--select", "ALL", "--exit-zero",
               "-q", str(tree)]
    start = time.perf_counter()
    proc = subprocess.run(command, check=False, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ruff failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    return seconds


# -- one tree -----------------------------------------------------------------------------
def bench_tree(tree: Path, runs: int, method: str, jobs: int | None, log) -> dict:
    tree = tree.resolve()
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

    log(f"  bare ast.parse x{runs}")
    result["bare_parse"] = spread([bare_parse(paths) for _ in range(runs)])

    binary = ruff_binary()
    log(f"  ruff x{runs}")
    run_ruff(binary, tree)  # warm-up, not counted
    result["ruff"] = spread([run_ruff(binary, tree) for _ in range(runs)])

    scratch = Path(tempfile.mkdtemp(prefix="prodaudit-bench-"))
    sources = sorted((p for p, kind in files if kind == "source"), key=lambda p: (p.stat().st_size, str(p)))
    changed = sources[len(sources) // 2] if sources else (paths[len(paths) // 2] if paths else None)
    original = changed.read_bytes() if changed else b""
    original_stat = changed.stat() if changed else None
    try:
        # One untimed run first: byte-compiles prodaudit if needed, warms the page cache.
        log("  prodaudit warm-up (not counted)")
        run_prodaudit(tree, scratch / "warmup-cache", scratch / "warmup.json", method, jobs)
        shutil.rmtree(scratch / "warmup-cache", ignore_errors=True)

        cold: list[Sample] = []
        for i in range(runs):
            log(f"  prodaudit cold {i + 1}/{runs}")
            cache_dir = scratch / f"cold-{i}"  # fresh, empty cache every run
            cold.append(run_prodaudit(tree, cache_dir, scratch / "report.json", method, jobs))
            if i < runs - 1:
                shutil.rmtree(cache_dir, ignore_errors=True)
        warm_cache = scratch / f"cold-{runs - 1}"  # filled by the last cold run

        warm = []
        for i in range(runs):
            log(f"  prodaudit warm {i + 1}/{runs}")
            warm.append(run_prodaudit(tree, warm_cache, scratch / "report.json", method, jobs))

        one_changed = []
        if changed is not None:
            for i in range(runs):
                log(f"  prodaudit warm, one file changed {i + 1}/{runs}")
                # A new comment each run: that file (and only it) misses the cache.
                changed.write_bytes(original + f"\n# prodaudit bench edit {i}\n".encode())
                one_changed.append(run_prodaudit(tree, warm_cache, scratch / "report.json",
                                                 method, jobs))
    finally:
        if changed is not None:
            changed.write_bytes(original)
            os.utime(changed, ns=(original_stat.st_atime_ns, original_stat.st_mtime_ns))
        shutil.rmtree(scratch, ignore_errors=True)

    def summary(samples: list[Sample]) -> dict:
        if not samples:
            return {}
        times = [s.seconds for s in samples]
        median_run = sorted(samples, key=lambda s: s.seconds)[len(samples) // 2]
        out = {"seconds": spread(times), "median_run_stages_ms": median_run.stages}
        rss = [s.rss_kb for s in samples if s.rss_kb]
        if rss:
            out["peak_rss_kb"] = spread(rss)
        return out

    result["cold"] = summary(cold)
    result["warm"] = summary(warm)
    result["warm_one_changed"] = summary(one_changed)
    result["changed_file"] = str(changed.relative_to(tree)) if changed else None
    bare = result["bare_parse"]["median"]
    result["cold_over_bare"] = result["cold"]["seconds"]["median"] / bare if bare else None
    return result


# -- reporting ----------------------------------------------------------------------------
def fmt_s(stats: dict) -> str:
    return f"{stats['median']:.2f} s ({stats['min']:.2f}-{stats['max']:.2f})"


def fmt_mb(stats: dict | None) -> str:
    if not stats:
        return "n/a"
    return f"{stats['median'] / 1024:.0f} MB ({stats['min'] / 1024:.0f}-{stats['max'] / 1024:.0f})"


def render(result: dict, runs: int) -> str:
    cold, warm, one = result["cold"], result["warm"], result["warm_one_changed"]
    ratio = result["cold_over_bare"]
    warm_s = warm["seconds"]["median"]
    scale = "" if abs(result["lines"] - 200_000) <= 20_000 else \
        f" (target stated for 200k lines; this tree has {result['lines'] // 1000}k)"
    rows = [
        ("Python files", f"{result['py_files']}", ""),
        ("lines", f"{result['lines']}", ""),
        ("bare ast.parse (1 core, in-process)", fmt_s(result["bare_parse"]), ""),
        ("prodaudit cold (empty cache)", fmt_s(cold["seconds"]), ""),
        ("prodaudit warm (same cache)", fmt_s(warm["seconds"]), ""),
        ("prodaudit warm, 1 file changed", fmt_s(one["seconds"]) if one else "n/a", ""),
        ("ruff check --select ALL", fmt_s(result["ruff"]), "all cores, no cache"),
        ("prodaudit peak RSS, cold", fmt_mb(cold.get("peak_rss_kb")), ""),
        ("prodaudit peak RSS, warm", fmt_mb(warm.get("peak_rss_kb")), ""),
        ("cold / bare parse", f"{ratio:.1f}x",
         f"target <= {TARGET_COLD_RATIO:.0f}x: {'PASS' if ratio <= TARGET_COLD_RATIO else 'MISS'}"),
        ("warm", f"{warm_s:.2f} s",
         (f"target <= {TARGET_WARM_SECONDS:.0f} s: "
          f"{'PASS' if warm_s <= TARGET_WARM_SECONDS else 'MISS'}{scale}")),
        ("cold / ruff", f"{cold['seconds']['median'] / result['ruff']['median']:.1f}x", ""),
    ]
    out = [f"### {result['tree']}", "",
           (f"median of {runs} runs, (min-max); file set: {result['file_set']}; "
            f"changed file: {result['changed_file']}"), "",
           "| figure | value | note |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    stages = [s for s in cold["median_run_stages_ms"]]
    for extra in (warm, one):
        for s in extra.get("median_run_stages_ms", {}):
            if s not in stages:
                stages.append(s)
    out += ["", "prodaudit `--profile` stages of the median run (ms):", "",
            "| stage | cold | warm | warm, 1 changed |", "|---|---:|---:|---:|"]
    for s in stages:
        cells = [f"{part.get('median_run_stages_ms', {}).get(s, float('nan')):.1f}"
                 if part else "n/a" for part in (cold, warm, one)]
        out.append(f"| {s} | " + " | ".join(cells) + " |")
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
    results = [bench_tree(tree, args.runs, method, args.jobs, log) for tree in trees]

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
