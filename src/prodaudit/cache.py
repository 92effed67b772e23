"""On-disk cache of module summaries and ruff results, outside the audited tree.

Keys combine the file's content hash with everything that changes the result: the
prodaudit code itself (a hash of its source files, so a development checkout never reads
stale entries), the config digest, the interpreter version and the file's path and kind.
A cache that cannot be read or written degrades to no cache, with one note.

What goes into or comes out of the cache (module summaries, ruff results) lives until the
audit ends: a warm run unpickles ~1,200 summaries, millions of objects, and Python's cyclic
collector would otherwise rescan all of them at every full collection for the rest of the
run (it doubled the load time and cost seconds in the model stage). So entries are loaded
with the collector paused and then frozen (gc.freeze: ignored by later collections, still
freed by reference counting); the Cache unfreezes when it is itself freed at the end of the
audit (unless the process froze objects of its own), so a process running many audits does
not keep cyclic garbage forever.

Layout and upkeep: entries live in one directory per prodaudit build,
`<cache dir>/v<format>-<code fingerprint>/<2 hex>/<key>.pkl`, so an upgrade (or, in a
development checkout, an edit) leaves the old build's entries in a directory of their own.
Nothing else would ever delete them, so after an audit that may have written, at most once
an hour, `prune()` removes the directories of builds not used for a week and then the
least recently used entries until the cache fits its size limit (hits refresh an entry's
mtime). It only ever deletes what matches that layout: a --cache-dir shared with other
files loses none of them.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import re
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import platformdirs

import prodaudit

CACHE_FORMAT = "2"
# A build's directory not used for this long is removed by prune().
UNUSED_BUILD_SECONDS = 7 * 24 * 3600
# prune() after an audit runs at most this often (it stats every entry).
PRUNE_INTERVAL_SECONDS = 3600
# Size limit of the whole cache directory; PRODAUDIT_CACHE_MAX_MB overrides it. A cold audit
# of 200k lines writes ~70 MB (summaries, ruff results, the result, its JSON text).
DEFAULT_MAX_BYTES = 2 * 1024**3
# Trimmed to this share of the limit, so the next audits do not trim again at once.
TRIM_TO_SHARE = 0.8

_BUILD_DIR = re.compile(r"v\d+(-[0-9a-f]{16})?")  # "v1" had no fingerprint part
_BUCKET_DIR = re.compile(r"[0-9a-f]{2}")
_ENTRY_FILE = re.compile(r"[0-9a-f]{64}\.pkl|.+\.tmp")
_USED_STAMP = ".used"
_PRUNED_STAMP = ".last-prune"
_TAG = "CACHEDIR.TAG"
_TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
             "# This file is a cache directory tag created by prodaudit.\n"
             "# For information about cache directory tags, see https://bford.info/cachedir/\n")


@cache
def tool_fingerprint() -> str:
    """Hash of prodaudit's own source files: any code change invalidates the cache."""
    digest = hashlib.sha256(prodaudit.__version__.encode())
    package_dir = Path(prodaudit.__file__).parent
    for path in sorted(package_dir.rglob("*.py")):
        try:
            digest.update(path.relative_to(package_dir).as_posix().encode())
            digest.update(path.read_bytes())
        except OSError:
            continue
    digest.update(f"{sys.version_info[:3]}".encode())
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("prodaudit"))


def build_dir_name() -> str:
    """The directory of this prodaudit build's entries inside the cache directory."""
    return f"v{CACHE_FORMAT}-{tool_fingerprint()}"


def dumps(value) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class Cache:
    def __init__(self, directory: Path | None, enabled: bool = True):
        self.directory = directory or default_cache_dir()
        self.enabled = enabled
        self.problem: str = ""
        self.hits = 0
        self.misses = 0
        self._made_dirs: set[Path] = set()
        self._froze = False
        self._build_dir = self.directory / build_dir_name()
        self._stamped = False

    def key(self, *parts: str) -> str:
        return hashlib.sha256("\x1f".join((tool_fingerprint(), *parts)).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self._build_dir / key[:2] / f"{key}.pkl"

    def get(self, key: str):
        if not self.enabled:
            return None
        try:
            with self._path(key).open("rb") as handle:
                value = self._load_long_lived(handle)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # noqa: BLE001 - corrupt or incompatible entry: recompute
            self.misses += 1
            return None
        self.hits += 1
        self._mark_used(self._path(key))
        return value

    def _mark_used(self, entry: Path) -> None:
        """Refresh the entry's mtime (prune() removes the least recently used first) and,
        once per audit, the build directory's stamp (prune() removes unused builds)."""
        try:
            os.utime(entry)
            self._stamp_build()
        except OSError:
            pass  # a read-only cache still serves hits

    def _stamp_build(self) -> None:
        if not self._stamped:
            self._stamped = True
            (self._build_dir / _USED_STAMP).touch()

    def put(self, key: str, value) -> None:
        if not self.enabled or self.problem:
            return
        self.put_pickled(key, dumps(value))

    def put_pickled(self, key: str, data: bytes) -> None:
        """Store a value pickled already (by dumps(), e.g. in a summary worker)."""
        if not self.enabled or self.problem:
            return
        path = self._path(key)
        try:
            if path.parent not in self._made_dirs:
                if not self._made_dirs:
                    self._tag_directory()
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)  # atomic: a concurrent reader sees old or new, never half
            self._stamp_build()
        except OSError as exc:
            self.problem = f"cache directory {self.directory} not writable ({exc.strerror or exc}); running uncached"
            return
        self._freeze_long_lived()  # the value stays in use until the audit ends

    def _tag_directory(self) -> None:
        """CACHEDIR.TAG tells backup tools to skip the cache (as pip's and ruff's do)."""
        tag = self.directory / _TAG
        if not tag.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            tag.write_text(_TAG_TEXT, encoding="ascii")

    def _load_long_lived(self, handle):
        collecting = gc.isenabled()
        gc.disable()  # nothing unpickled is garbage yet: a collection now only costs
        try:
            value = pickle.load(handle)
        finally:
            if collecting:
                gc.enable()
        self._freeze_long_lived()
        return value

    def _freeze_long_lived(self) -> None:
        if not self._froze:
            self._froze = True
            # Undo it when the audit ends, unless the process freezes objects of its own (the
            # CLI freezes its imports): gc.unfreeze() would thaw those too.
            if gc.get_freeze_count() == 0:
                weakref.finalize(self, gc.unfreeze)
        gc.freeze()  # O(1): the tracked objects move to the collector's permanent generation


@dataclass(frozen=True)
class BuildUsage:
    """One build's directory in the cache: its entries, their bytes, when it was last used."""

    name: str
    entries: int
    size: int
    last_used: float
    current: bool


@dataclass(frozen=True)
class PruneReport:
    removed_builds: tuple[str, ...]
    removed_entries: int
    removed_bytes: int
    kept_bytes: int


def max_cache_bytes() -> int:
    """The size limit: PRODAUDIT_CACHE_MAX_MB (an integer, megabytes) or the default."""
    text = os.environ.get("PRODAUDIT_CACHE_MAX_MB", "").strip()
    if text.isdigit():
        return int(text) * 1024**2
    return DEFAULT_MAX_BYTES


def cache_usage(directory: Path | None) -> tuple[BuildUsage, ...]:
    """What `prodaudit cache info` shows: the builds in the cache, newest use first."""
    root = directory or default_cache_dir()
    builds = []
    for build in _build_dirs(root):
        entries = list(_entries(build))
        builds.append(BuildUsage(build.name, len(entries), sum(size for _, size, _ in entries),
                                 _last_used(build), build.name == build_dir_name()))
    return tuple(sorted(builds, key=lambda usage: (-usage.last_used, usage.name)))


def prune(directory: Path | None, *, max_bytes: int | None = None, now: float | None = None,
          force: bool = False) -> PruneReport | None:
    """Remove builds unused for UNUSED_BUILD_SECONDS, then the least recently used entries
    until the cache is under TRIM_TO_SHARE of its limit. Unless `force`, does nothing (None)
    when the last prune is under PRUNE_INTERVAL_SECONDS old. Never raises: a cache it cannot
    tidy is left as it is."""
    root = directory or default_cache_dir()
    now = time.time() if now is None else now
    limit = max_cache_bytes() if max_bytes is None else max_bytes
    stamp = root / _PRUNED_STAMP
    try:
        if not force and now - stamp.stat().st_mtime < PRUNE_INTERVAL_SECONDS:
            return None
    except OSError:
        pass  # never pruned (or no cache at all: _build_dirs finds nothing)
    if not root.is_dir():
        return None
    removed_builds: list[str] = []
    removed_entries = removed_bytes = 0
    kept: list[tuple[float, int, Path]] = []
    for build in _build_dirs(root):
        entries = list(_entries(build))
        unused = build.name != build_dir_name() and now - _last_used(build) > UNUSED_BUILD_SECONDS
        if unused:
            removed_builds.append(build.name)
            count, size = _remove(entries)
            removed_entries += count
            removed_bytes += size
            _remove_empty_dirs(build)
        else:
            kept.extend(entries)
    total = sum(size for _, size, _ in kept)
    if total > limit:
        kept.sort(key=lambda entry: (entry[0], str(entry[2])))  # least recently used first
        goal = int(limit * TRIM_TO_SHARE)
        trimmed = []
        for entry in kept:
            if total <= goal:
                break
            trimmed.append(entry)
            total -= entry[1]
        count, size = _remove(trimmed)
        removed_entries += count
        removed_bytes += size
    try:
        stamp.touch()
    except OSError:
        pass
    return PruneReport(tuple(sorted(removed_builds)), removed_entries, removed_bytes, total)


def clear(directory: Path | None) -> PruneReport:
    """`prodaudit cache clean`: remove every entry of every build (nothing else)."""
    root = directory or default_cache_dir()
    removed_builds: list[str] = []
    count = size = 0
    for build in _build_dirs(root):
        removed_builds.append(build.name)
        build_count, build_size = _remove(_entries(build))
        count += build_count
        size += build_size
        _remove_empty_dirs(build)
    return PruneReport(tuple(sorted(removed_builds)), count, size, 0)


def _build_dirs(root: Path) -> list[Path]:
    try:
        children = sorted(root.iterdir())
    except OSError:
        return []
    return [child for child in children
            if _BUILD_DIR.fullmatch(child.name) and child.is_dir() and not child.is_symlink()]


def _entries(build: Path):
    """(mtime, size, path) of every file in the build directory that matches the layout."""
    for bucket in sorted(_buckets(build)):
        try:
            with os.scandir(bucket) as files:
                for file in files:
                    if _ENTRY_FILE.fullmatch(file.name) and file.is_file(follow_symlinks=False):
                        info = file.stat(follow_symlinks=False)
                        yield info.st_mtime, info.st_size, Path(file.path)
        except OSError:
            continue


def _last_used(build: Path) -> float:
    for candidate in (build / _USED_STAMP, build):  # "v1" directories had no stamp
        try:
            return candidate.stat().st_mtime
        except OSError:
            continue
    return 0.0


def _remove(entries) -> tuple[int, int]:
    count = size = 0
    for _, entry_size, path in entries:
        try:
            path.unlink()
        except OSError:
            continue
        count += 1
        size += entry_size
    return count, size


def _remove_empty_dirs(build: Path) -> None:
    """The build's bucket directories and stamp, then the build itself, if nothing else
    is left in them."""
    for bucket in _buckets(build):
        try:
            bucket.rmdir()
        except OSError:
            pass
    try:
        (build / _USED_STAMP).unlink(missing_ok=True)
        build.rmdir()
    except OSError:
        pass


def _buckets(build: Path) -> list[Path]:
    try:
        return [child for child in build.iterdir()
                if _BUCKET_DIR.fullmatch(child.name) and child.is_dir() and not child.is_symlink()]
    except OSError:
        return []
