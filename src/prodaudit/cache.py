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
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import tempfile
import weakref
from functools import cache
from pathlib import Path

import platformdirs

import prodaudit

CACHE_FORMAT = "1"


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
    return Path(platformdirs.user_cache_dir("prodaudit")) / f"v{CACHE_FORMAT}"


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

    def key(self, *parts: str) -> str:
        return hashlib.sha256("\x1f".join((tool_fingerprint(), *parts)).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.pkl"

    def get(self, key: str):
        if not self.enabled:
            return None
        try:
            with self._path(key).open("rb") as handle:
                value = self._load_long_lived(handle)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # corrupt or incompatible entry: recompute
            self.misses += 1
            return None
        self.hits += 1
        return value

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
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made_dirs.add(path.parent)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)  # atomic: a concurrent reader sees old or new, never half
        except OSError as exc:
            self.problem = f"cache directory {self.directory} not writable ({exc.strerror or exc}); running uncached"
            return
        self._freeze_long_lived()  # the value stays in use until the audit ends

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
