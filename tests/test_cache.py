"""The cache's upkeep: one directory per prodaudit build, unused builds and least recently
used entries pruned, nothing but its own files ever deleted, `prodaudit cache` commands."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prodaudit import cache as cache_module
from prodaudit.cache import Cache, build_dir_name, cache_usage, clear, prune

SRC = str(Path(__file__).parents[1] / "src")
DAY = 24 * 3600
NOW = 2_000_000_000.0  # a fixed "now": entry ages are set relative to it


def make_entry(root: Path, build: str, name: str, size: int, age_seconds: float) -> Path:
    path = root / build / name[:2] / f"{name}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (NOW - age_seconds, NOW - age_seconds))
    return path


def stamp_build(root: Path, build: str, age_seconds: float) -> None:
    stamp = root / build / ".used"
    stamp.touch()
    os.utime(stamp, (NOW - age_seconds, NOW - age_seconds))


def key(n: int) -> str:
    return f"{n:02x}" + "ab" * 31


def test_entries_live_in_this_builds_directory_and_the_cache_is_tagged(tmp_path: Path) -> None:
    store = Cache(tmp_path / "c")
    store.put(store.key("k"), {"v": 1})
    entries = list((tmp_path / "c").rglob("*.pkl"))
    assert [p.relative_to(tmp_path / "c").parts[0] for p in entries] == [build_dir_name()]
    assert (tmp_path / "c" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (tmp_path / "c" / build_dir_name() / ".used").exists()


def test_a_hit_refreshes_the_entrys_mtime(tmp_path: Path) -> None:
    store = Cache(tmp_path / "c")
    k = store.key("k")
    store.put(k, [1, 2])
    entry = next((tmp_path / "c").rglob("*.pkl"))
    os.utime(entry, (1_000_000, 1_000_000))
    assert Cache(tmp_path / "c").get(k) == [1, 2]
    assert entry.stat().st_mtime > 1_000_000 + DAY


def test_prune_removes_builds_unused_for_a_week_and_only_files_of_the_layout(tmp_path: Path) -> None:
    root = tmp_path / "c"
    current = build_dir_name()
    make_entry(root, current, key(1), 10, age_seconds=30 * DAY)  # old entry, current build: kept
    make_entry(root, "v2-0123456789abcdef", key(2), 10, age_seconds=9 * DAY)
    stamp_build(root, "v2-0123456789abcdef", age_seconds=8 * DAY)
    make_entry(root, "v2-fedcba9876543210", key(3), 10, age_seconds=9 * DAY)
    stamp_build(root, "v2-fedcba9876543210", age_seconds=2 * DAY)  # used two days ago: kept
    legacy = make_entry(root, "v1", key(4), 10, age_seconds=40 * DAY)  # old layout, no stamp
    os.utime(root / "v1", (NOW - 40 * DAY, NOW - 40 * DAY))
    foreign = [root / "notes.txt", root / "v2-0123456789abcdef" / "mine.txt",
               root / "other" / "ab" / f"{key(5)}.pkl"]
    for path in foreign:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not prodaudit's")

    report = prune(root, now=NOW, max_bytes=10**9)

    assert report is not None
    assert report.removed_builds == ("v1", "v2-0123456789abcdef")
    assert report.removed_entries == 2 and report.removed_bytes == 20
    assert not legacy.exists() and not (root / "v1").exists()
    assert all(path.exists() for path in foreign)  # a shared --cache-dir loses nothing else
    assert sorted(p.name for p in root.rglob("*.pkl")) == sorted(
        [f"{key(1)}.pkl", f"{key(3)}.pkl", f"{key(5)}.pkl"])


def test_prune_trims_least_recently_used_entries_to_the_size_limit(tmp_path: Path) -> None:
    root = tmp_path / "c"
    build = build_dir_name()
    paths = [make_entry(root, build, key(n), 100, age_seconds=(10 - n) * 60) for n in range(10)]
    # 1,000 bytes against a limit of 500: trimmed to 80 % of it, the oldest first.
    report = prune(root, now=NOW, max_bytes=500)
    assert report is not None and report.removed_entries == 6 and report.kept_bytes == 400
    assert [p.exists() for p in paths] == [False] * 6 + [True] * 4


def test_prune_under_the_limit_removes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "c"
    path = make_entry(root, build_dir_name(), key(1), 100, age_seconds=100 * DAY)
    report = prune(root, now=NOW, max_bytes=1000)
    assert report is not None and report.removed_entries == 0 and report.kept_bytes == 100
    assert path.exists()


def test_prune_runs_at_most_hourly_unless_forced(tmp_path: Path) -> None:
    root = tmp_path / "c"
    make_entry(root, build_dir_name(), key(1), 100, age_seconds=60)
    assert prune(root, max_bytes=10**6) is not None
    assert prune(root, max_bytes=10**6) is None
    assert prune(root, max_bytes=50) is None  # not yet due, even over the limit
    forced = prune(root, max_bytes=50, force=True)
    assert forced is not None and forced.removed_entries == 1


def test_prune_of_a_missing_directory_is_a_no_op(tmp_path: Path) -> None:
    assert prune(tmp_path / "nothing", force=True) is None
    assert not (tmp_path / "nothing").exists()


def test_size_limit_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODAUDIT_CACHE_MAX_MB", "3")
    assert cache_module.max_cache_bytes() == 3 * 1024**2
    monkeypatch.setenv("PRODAUDIT_CACHE_MAX_MB", "lots")  # not a number: the default
    assert cache_module.max_cache_bytes() == cache_module.DEFAULT_MAX_BYTES


def test_clear_removes_every_build_and_nothing_else(tmp_path: Path) -> None:
    root = tmp_path / "c"
    make_entry(root, build_dir_name(), key(1), 7, age_seconds=0)
    make_entry(root, "v2-0123456789abcdef", key(2), 5, age_seconds=0)
    (root / "keep.txt").write_text("mine")
    report = clear(root)
    assert (report.removed_entries, report.removed_bytes) == (2, 12)
    assert not list(root.rglob("*.pkl")) and (root / "keep.txt").exists()
    assert cache_usage(root) == ()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC, "PRODAUDIT_STRICT": "0"}
    return subprocess.run([sys.executable, "-m", "prodaudit", *args], capture_output=True, check=False,
                          text=True, env=env, timeout=300)


def test_cache_commands_after_an_audit(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "main.py").write_text("import time\n\n\nasync def f():\n    time.sleep(1)\n")
    store = tmp_path / "cache"
    assert run_cli("audit", str(project), "--cache-dir", str(store), "-f", "json").returncode == 0
    assert (store / ".last-prune").exists()  # the audit pruned (nothing to remove) once

    info = run_cli("cache", "info", "--cache-dir", str(store))
    assert info.returncode == 0, info.stderr
    assert f"cache directory: {store}" in info.stdout
    assert f"{build_dir_name()}: " in info.stdout and "(this prodaudit)" in info.stdout
    entries = len(list(store.rglob("*.pkl")))
    assert entries > 0 and f"in {entries} entries" in info.stdout

    cleaned = run_cli("cache", "clean", "--cache-dir", str(store))
    assert cleaned.returncode == 0 and cleaned.stdout.startswith(f"removed {entries} entries")
    assert not list(store.rglob("*.pkl"))
    assert "in 0 entries" in run_cli("cache", "info", "--cache-dir", str(store)).stdout


def test_cache_prune_command_reports_what_it_removed(tmp_path: Path) -> None:
    root = tmp_path / "c"
    make_entry(root, "v2-0123456789abcdef", key(1), 10, age_seconds=0)
    stamp_build(root, "v2-0123456789abcdef", age_seconds=NOW - time.time() + 30 * DAY)
    proc = run_cli("cache", "prune", "--cache-dir", str(root))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("removed 1 entry (0.0 MB; 1 unused build)")
    assert not (root / "v2-0123456789abcdef").exists()
