"""The command line as a user runs it: exit codes, bad input, config, cache, JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from prodaudit.cli import main

SCHEMA = json.loads((Path(__file__).parents[1] / "docs/schema/report.schema.json").read_text())
SRC = str(Path(__file__).parents[1] / "src")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC, "PRODAUDIT_STRICT": "0"}
    return subprocess.run([sys.executable, "-m", "prodaudit", *args], capture_output=True, check=False,
                          text=True, cwd=cwd, env=env, timeout=300)


def audit_json(path: Path, *extra: str, cache: Path | None = None) -> dict:
    args = ["audit", str(path), "--format", "json"]
    args += ["--cache-dir", str(cache)] if cache else ["--no-cache"]
    proc = run_cli(*args, *extra)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "main.py").write_text(
        "import time\n\n\nasync def handler():\n    time.sleep(1)\n    try:\n        pass\n"
        "    except:  # prodaudit: ignore[PA501] shutdown path, reviewed\n        pass\n")
    (root / "app" / "todo.py").write_text("# TODO: something\nX = 1  # noqa: E501\n")
    return root


def test_bare_path_equals_audit_command(project: Path) -> None:
    bare = run_cli(str(project), "--format", "json", "--no-cache")
    explicit = run_cli("audit", str(project), "--format", "json", "--no-cache")
    assert bare.returncode == explicit.returncode == 0
    assert bare.stdout == explicit.stdout


def test_json_is_valid_deterministic_and_lists_suppressions(project: Path) -> None:
    first = run_cli("audit", str(project), "-f", "json", "--no-cache").stdout
    second = run_cli("audit", str(project), "-f", "json", "--no-cache").stdout
    assert first == second
    document = json.loads(first)
    jsonschema.validate(document, SCHEMA)
    rules = {f["rule_id"] for f in document["findings"]}
    assert {"PA201", "PA702"} <= rules
    assert [s["rule_id"] for s in document["suppressed"]] == ["PA501"]
    assert document["suppressed"][0]["suppression"]["reason"] == "shutdown path, reviewed"
    assert document["summary"]["suppressed_without_reason"] == 0
    assert document["metadata"] == {}
    assert str(project) not in first  # no absolute paths: reports are portable


def test_date_only_in_metadata(project: Path) -> None:
    document = audit_json(project, "--date", "2026-11-22")
    assert document["metadata"] == {"date": "2026-11-22"}
    assert run_cli("audit", str(project), "--date", "22/11/2026").returncode == 2


def test_fail_on_sets_exit_code(project: Path) -> None:
    assert run_cli("audit", str(project), "--no-cache", "--fail-on", "high").returncode == 1
    assert run_cli("audit", str(project), "--no-cache", "--fail-on", "critical").returncode == 0
    assert run_cli("audit", str(project), "--no-cache").returncode == 0


def test_fail_on_from_config(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.prodaudit]\nfail-on = "high"\n')
    assert run_cli("audit", str(project), "--no-cache").returncode == 1


def test_missing_path_is_one_line_usage_error(tmp_path: Path) -> None:
    proc = run_cli(str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_single_file_is_audited(project: Path) -> None:
    document = audit_json(project / "app" / "main.py")
    assert document["summary"]["files"] == 1
    assert {f["location"]["path"] for f in document["findings"]} - {""} == {"main.py"}


def test_empty_tree(tmp_path: Path) -> None:
    document = audit_json(tmp_path)
    assert document["findings"] == [] and document["summary"]["files"] == 0


def test_bad_files_become_findings_or_notes(tmp_path: Path) -> None:
    (tmp_path / "syntax.py").write_text("def f(:\n    pass\n")
    (tmp_path / "latin1.py").write_bytes("# coding: latin-1\nname = 'caf\xe9'\n".encode("latin-1"))
    (tmp_path / "undecodable.py").write_bytes(b"name = '\xff\xfe'\n")
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    (tmp_path / "huge.py").write_text("x = 1\n" * 10)
    (tmp_path / "pyproject.toml").write_text('[tool.prodaudit]\nmax-file-size = 50\n')
    (tmp_path / "loop").mkdir()
    os.symlink(tmp_path / "loop", tmp_path / "loop" / "again")
    document = audit_json(tmp_path)
    pa001 = {f["location"]["path"] for f in document["findings"] if f["rule_id"] == "PA001"}
    assert pa001 == {"syntax.py", "undecodable.py", "nul.py"}
    skipped = {n["path"] for n in document["notes"] if n["kind"] == "skipped"}
    assert {"huge.py", "loop/again"} <= skipped


def test_gitignore_and_virtualenvs_are_skipped(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("generated/\n")
    for rel in ("generated/x.py", ".venv/lib/y.py", "node_modules/z.py", "custom_env/w.py", "app/ok.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("# FIXME: here\n")
    (tmp_path / "custom_env" / "pyvenv.cfg").write_text("home = /usr\n")
    document = audit_json(tmp_path)
    # "" is the project itself (readiness facts such as "no CI"), not a file
    assert {f["location"]["path"] for f in document["findings"]} - {""} == {"app/ok.py"}


def test_unknown_config_key_warns_and_bad_value_fails(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.prodaudit]\nexlude = ["x"]\n')
    document = audit_json(project)
    assert any("unknown key 'exlude'" in n["message"] for n in document["notes"])
    (project / "pyproject.toml").write_text('[tool.prodaudit]\nseverity = { PA501 = "urgent" }\n')
    proc = run_cli(str(project), "--no-cache")
    assert proc.returncode == 2 and "not a severity" in proc.stderr


def test_broken_config_files(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.prodaudit\n")
    document = audit_json(project)  # someone else's broken pyproject: warn, audit anyway
    assert any("invalid TOML" in n["message"] for n in document["notes"])
    (project / "prodaudit.toml").write_text("select = [\n")
    proc = run_cli(str(project), "--no-cache")  # our own config file: refuse
    assert proc.returncode == 2 and "invalid TOML" in proc.stderr and "Traceback" not in proc.stderr


def test_config_disable_and_severity(project: Path) -> None:
    (project / "prodaudit.toml").write_text('disable = ["PA702"]\n[severity]\nPA201 = "critical"\n')
    document = audit_json(project)
    rules = {f["rule_id"]: f["severity"] for f in document["findings"]}
    assert "PA702" not in rules and rules["PA201"] == "critical"


def test_cli_select_and_disable(project: Path) -> None:
    document = audit_json(project, "--select", "PA7")
    assert {f["rule_id"] for f in document["findings"]} == {"PA702"}
    document = audit_json(project, "--disable", "PA702,PA201")
    assert not {"PA702", "PA201"} & {f["rule_id"] for f in document["findings"]}


def test_cache_warm_run_is_identical_and_outside_the_tree(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    cold = audit_json(project, cache=cache)
    warm = audit_json(project, cache=cache)
    assert cold == warm
    assert any(cache.rglob("*.pkl"))
    after = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert before == after  # nothing written into the audited tree (no .ruff_cache either)
    (project / "app" / "todo.py").write_text("# FIXME: changed\n")
    changed = audit_json(project, cache=cache)
    assert any(f["message"].startswith("FIXME") for f in changed["findings"])


def test_rules_and_explain() -> None:
    listing = run_cli("rules", "--format", "json")
    rows = json.loads(listing.stdout)
    assert {"PA001", "PA501", "PA702"} <= {r["id"] for r in rows}
    explained = run_cli("explain", "bare-except")
    assert explained.returncode == 0 and "## Why is this bad?" in explained.stdout
    assert run_cli("explain", "PA999").returncode == 2


def test_terminal_output_names_findings(project: Path) -> None:
    proc = run_cli(str(project), "--no-cache")
    assert proc.returncode == 0
    assert "app/main.py:5" in proc.stdout and "PA201" in proc.stdout
    assert "1 suppressed" in proc.stdout


def test_output_file_and_profile(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "audit.json"
    proc = run_cli(str(project), "-f", "json", "-o", str(out), "--no-cache", "--profile")
    assert proc.returncode == 0
    jsonschema.validate(json.loads(out.read_text()), SCHEMA)
    assert "summarize" in proc.stderr and str(out) in proc.stdout


def test_main_in_process_returns_usage_code(tmp_path: Path) -> None:
    assert main(["audit", str(tmp_path / "missing")]) == 2


def test_process_pool_gives_the_same_result_as_one_process(monkeypatch) -> None:
    # The pool only starts on large trees; force it on a small one and compare.
    from prodaudit import engine
    from prodaudit.engine import AuditOptions, run_audit
    from prodaudit.report.json_report import render_json

    example = Path(__file__).parents[1] / "examples" / "shopapi"
    serial = render_json(run_audit(example, AuditOptions(use_cache=False, jobs=1)))
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    parallel = render_json(run_audit(example, AuditOptions(use_cache=False, jobs=2)))
    assert parallel == serial


def test_without_ruff_the_audit_runs_and_says_so(monkeypatch, project: Path) -> None:
    import prodaudit.rules.ruff_bridge as bridge
    from prodaudit.engine import AuditOptions, run_audit

    monkeypatch.setattr(bridge, "ruff_binary", lambda: None)
    result = run_audit(project, AuditOptions(use_cache=False))
    assert any("ruff is not installed" in note.message for note in result.notes)
    assert not [f for f in result.findings if f.source.startswith("ruff:")]
    assert [f for f in result.findings if f.rule_id == "PA702"]  # our own rules still ran


def test_a_run_without_ruff_is_not_reused_once_ruff_is_back(monkeypatch, project: Path,
                                                             tmp_path: Path) -> None:
    import prodaudit.rules.ruff_bridge as bridge
    from prodaudit.engine import AuditOptions, run_audit

    options = AuditOptions(cache_dir=tmp_path / "cache", reuse_result=True)
    with monkeypatch.context() as patched:
        patched.setattr(bridge, "ruff_binary", lambda: None)
        without = run_audit(project, options)
    assert any("ruff is not installed" in note.message for note in without.notes)
    again = run_audit(project, options)
    assert not any("ruff is not installed" in note.message for note in again.notes)
    assert [f for f in again.findings if f.source.startswith("ruff:")]


def test_a_crashing_rule_becomes_an_internal_error_finding(monkeypatch, project: Path) -> None:
    from prodaudit.engine import AuditOptions, run_audit
    from prodaudit.rules.maintainability.todo_fixme import TodoFixme

    def crash(self, project):
        raise KeyError("boom")

    monkeypatch.setenv("PRODAUDIT_STRICT", "0")
    monkeypatch.setattr(TodoFixme, "check_project", crash)
    result = run_audit(project, AuditOptions(use_cache=False))
    errors = [f for f in result.findings if f.rule_id == "PA002"]
    assert len(errors) == 1 and "PA702" in errors[0].message and "KeyError" in errors[0].message
    assert [f for f in result.findings if f.rule_id == "PA201"]  # the other rules still ran


def test_warm_run_with_one_file_changed_parses_only_that_file(project: Path, tmp_path: Path) -> None:
    from prodaudit.engine import AuditOptions, run_audit

    options = AuditOptions(cache_dir=tmp_path / "cache")
    python_files = len(list(project.rglob("*.py")))
    assert run_audit(project, options).summarized == python_files
    assert run_audit(project, options).summarized == 0
    (project / "app" / "todo.py").write_text("# FIXME: changed\n")
    assert run_audit(project, options).summarized == 1


def test_reused_result_keeps_its_own_root_name(project: Path, tmp_path: Path) -> None:
    import shutil

    from prodaudit.engine import AuditOptions, run_audit

    copy = shutil.copytree(project, tmp_path / "other-name")
    options = AuditOptions(cache_dir=tmp_path / "cache", reuse_result=True)
    assert run_audit(project, options).root == "proj"
    assert run_audit(copy, options).root == "other-name"
    assert run_audit(copy, options).root == "other-name"


def test_cached_json_text_is_keyed_by_date(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = audit_json(project, cache=cache)
    warm = audit_json(project, cache=cache)
    dated = audit_json(project, "--date", "2025-01-31", cache=cache)
    assert cold == warm
    assert cold["metadata"] == {} and dated["metadata"] == {"date": "2025-01-31"}
    assert audit_json(project, "--date", "2025-01-31", cache=cache) == dated


def test_no_other_thread_runs_when_worker_processes_are_forked(tmp_path: Path, monkeypatch) -> None:
    # Forking a process while another thread runs (e.g. a progress bar's refresh thread)
    # can deadlock the child on a lock that thread held.
    import threading

    import rich.console

    from prodaudit import engine

    project = tmp_path / "proj"
    project.mkdir()
    for number in range(210):  # the bar shows from 200 files
        (project / f"module_{number}.py").write_text(f"VALUE_{number} = {number}\n")
    monkeypatch.setattr(engine, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    threads_before = threading.active_count()
    threads_at_fork: list[int] = []
    real_fork = os.fork

    def recording_fork() -> int:
        threads_at_fork.append(threading.active_count())
        return real_fork()

    monkeypatch.setattr(os, "fork", recording_fork)
    out = tmp_path / "report.json"
    assert main(["audit", str(project), "--no-cache", "--jobs", "2", "-f", "json", "-o", str(out)]) == 0
    assert threads_at_fork, "the summary pool and the rule helpers fork"
    assert set(threads_at_fork) == {threads_before}
