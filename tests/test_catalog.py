"""Meta-tests over the rule registry: ids, slugs, docs, and that each rule's documented
Example fires and its Use-instead code does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodaudit.engine import AuditOptions, run_audit
from prodaudit.rules.base import DOC_SECTIONS, RULE_ID, SLUG, all_rules, fenced_blocks

RULES = all_rules()
# The engine creates these findings itself; their docs show no code pattern.
NOT_EXAMPLE_TESTABLE = {"PA002"}


def test_ids_and_slugs_unique_and_well_formed() -> None:
    ids = [r.meta.id for r in RULES]
    slugs = [r.meta.slug for r in RULES]
    assert len(ids) == len(set(ids))
    assert len(slugs) == len(set(slugs))
    assert all(RULE_ID.match(i) for i in ids)
    assert all(SLUG.match(s) for s in slugs)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.meta.id)
def test_docs_have_every_section(rule) -> None:
    doc = rule.doc()
    missing = [s for s in DOC_SECTIONS if not rule.doc_section(s)]
    assert missing == [], f"{rule.meta.id} docstring lacks sections"
    assert doc.index("## What it does") < doc.index("## Known limitations")
    assert rule.meta.summary and rule.meta.effort_minutes >= 0
    if rule.meta.family == "security":
        assert rule.meta.cwe and rule.meta.owasp, "security rules carry CWE and OWASP"


# Where a documentation block is written so the engine classifies it as the rule expects.
FILE_FOR_LANGUAGE = {"dockerfile": "Dockerfile", "yaml": "docker-compose.yml", "yml": "docker-compose.yml",
                     "toml": "pyproject.toml", "ini": "setup.cfg", "text": "requirements.txt",
                     "dotenv": ".env"}
FILE_FOR_KIND = {"source": "example.py", "test": "tests/test_example.py",
                 "migration": "alembic/versions/0001_example.py"}
PYPROJECT = '[project]\nname = "x"\nversion = "0"\nrequires-python = ">=3.11"\n'


def _audit_blocks(tmp_path: Path, blocks: list[tuple[str, str]], rule):
    """Write a doc section's blocks as a mini project (a comment line `# file: path` on top
    of a block names its file) and audit it with only this rule."""
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    for lang, code in blocks:
        first, _, rest = code.partition("\n")
        if first.startswith("# file: "):
            name, code = first[len("# file: "):].strip(), rest
        elif lang in FILE_FOR_LANGUAGE:
            name = FILE_FOR_LANGUAGE[lang]
        else:
            name = FILE_FOR_KIND.get(rule.meta.file_kinds[0], "example.py")
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == "pyproject.toml":
            code = PYPROJECT + code
        target.write_text(code)
    result = run_audit(tmp_path, AuditOptions(use_cache=False, select=(rule.meta.id,)))
    return [f for f in result.findings if f.rule_id == rule.meta.id]


@pytest.mark.parametrize("rule", [r for r in RULES if r.meta.id not in NOT_EXAMPLE_TESTABLE],
                         ids=lambda r: r.meta.id)
def test_example_fires_and_use_instead_does_not(rule, tmp_path: Path) -> None:
    examples = fenced_blocks(rule.doc_section("Example"))
    fixed = fenced_blocks(rule.doc_section("Use instead"))
    assert examples and fixed, "both sections need a fenced code block"
    bad = tmp_path / "bad"
    good = tmp_path / "good"
    bad.mkdir()
    good.mkdir()
    assert _audit_blocks(bad, examples, rule), "Example does not fire"
    assert _audit_blocks(good, fixed, rule) == [], "Use instead fires"


def test_ruff_codes_exist() -> None:
    import json
    import subprocess

    from prodaudit.rules.ruff_bridge import ruff_binary

    out = subprocess.run([ruff_binary(), "rule", "--all", "--output-format", "json"],
                         capture_output=True, text=True, check=True).stdout
    known = {item["code"] for item in json.loads(out)}
    bridged = {code for r in RULES for code in r.meta.ruff_codes}
    assert sorted(bridged - known) == []


def test_rules_reference_is_generated_and_current() -> None:
    from prodaudit.cli import rules_reference_markdown

    committed = (Path(__file__).parents[1] / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == rules_reference_markdown(RULES), (
        "docs/rules.md is stale: run `prodaudit rules --format md > docs/rules.md`")
