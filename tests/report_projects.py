"""Projects the report tests audit: the example project (cached per test run) and a
hostile one whose file names, code, comments and suppression reasons carry HTML and
Markdown that must never execute or break the report."""

from __future__ import annotations

import functools
from pathlib import Path

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.findings import AuditResult

ROOT = Path(__file__).parents[1]
SHOPAPI = ROOT / "examples" / "shopapi"
DATE = "2026-01-01"

PAYLOAD = "<script>window.__pwned=1</script>"
# File names cannot contain "/", so the closing tags go into code and strings.
HOSTILE_NAME = 'evil"<script>x=1<\\script>\'.py'
HOSTILE_CODE = f'''"""Module with hostile strings."""
import time

password = "</textarea>{PAYLOAD}<img src=x onerror=window.__pwned=2>"


async def handler(q):
    # TODO: remove {PAYLOAD} | pipes | and `backticks` and ]]> and --> here
    time.sleep(1)
    try:
        return q
    except:  # prodaudit: ignore[PA501] reason with </td></tr><script>window.__pwned=3</script>
        pass
'''


@functools.lru_cache(maxsize=1)
def shopapi_result() -> AuditResult:
    return run_audit(SHOPAPI, AuditOptions(use_cache=False))


def make_hostile(root: Path) -> Path:
    project = root / 'hostile<b>"proj'
    (project / "app").mkdir(parents=True)
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / HOSTILE_NAME).write_text(HOSTILE_CODE)
    (project / "app" / "plain.py").write_text(
        f'import requests\n\n\ndef fetch():\n    return requests.get("https://api.{PAYLOAD}.example.org/x")\n')
    return project


def hostile_result(root: Path) -> AuditResult:
    return run_audit(make_hostile(root), AuditOptions(use_cache=False))
