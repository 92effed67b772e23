"""Reading a project's non-Python files (Dockerfiles, compose, requirements) as text:
size-limited, binary and non-UTF-8 files refused with a reason instead of an exception."""

from __future__ import annotations

from pathlib import Path

MAX_FILE_BYTES = 1_000_000


def read_project_text(root: Path, path: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, str]:
    """(text, "") or (None, why it was not read)."""
    try:
        full = root / path
        if full.stat().st_size > max_bytes:
            return None, f"{path}: larger than {max_bytes} bytes; not read"
        data = full.read_bytes()
    except OSError as exc:
        return None, f"{path}: could not be read ({exc.strerror or type(exc).__name__})"
    if b"\x00" in data[:8192]:
        return None, f"{path}: binary file; not read"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        return None, f"{path}: not UTF-8 text; not read"
