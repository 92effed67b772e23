"""Command line: arguments -> engine -> renderers. No analysis happens here.

Exit codes: 0 the audit ran; 1 a finding at or above --fail-on exists; 2 usage or input
error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

import prodaudit
from prodaudit.errors import UsageError
from prodaudit.findings import AuditResult, Severity
from prodaudit.rules.base import all_rules, rule_by_key

if TYPE_CHECKING:
    from prodaudit.cache import Cache

COMMANDS = ("audit", "rules", "explain", "inventory", "cache")
FORMATS = ("terminal", "json")
AUDIT_FORMATS = ("terminal", "json", "md", "html", "sarif")
LANGS = ("en", "ru")
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
REDRAW_SECONDS = 0.1  # the progress bar's


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prodaudit",
        description="Production-readiness audit of Python backends and bots, from the code itself.",
        epilog="Run `prodaudit PATH` for an audit, `prodaudit rules` for the catalog, "
               "`prodaudit explain PA101` for one rule's documentation.")
    parser.add_argument("--version", action="version", version=f"prodaudit {prodaudit.__version__}")
    sub = parser.add_subparsers(dest="command")

    audit = sub.add_parser("audit", help="audit a project (the default command)")
    audit.add_argument("path", type=Path, help="project directory or a single file")
    audit.add_argument("--format", "-f", choices=AUDIT_FORMATS, default="terminal")
    audit.add_argument("--output", "-o", type=Path, help="write the report to this file")
    audit.add_argument("--lang", choices=LANGS, default="en",
                       help="language of the md and html reports (default: en)")
    audit.add_argument("--report-dir", type=Path, metavar="DIR",
                       help="write report.json, report.sarif and report.md/.html (report.<lang>.md/.html "
                            "for a language other than en) into DIR")
    audit.add_argument("--fail-on", choices=[s.value for s in Severity],
                       help="exit 1 when a finding at or above this severity exists")
    audit.add_argument("--config", type=Path, help="config file (default: prodaudit.toml or "
                                                   "[tool.prodaudit] in pyproject.toml of PATH)")
    audit.add_argument("--select", action="append", default=[], metavar="RULES",
                       help="only these rule ids/slugs/prefixes (comma-separated, repeatable)")
    audit.add_argument("--disable", "--ignore", action="append", default=[], metavar="RULES",
                       help="skip these rule ids/slugs/prefixes")
    audit.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    audit.add_argument("--cache-dir", type=Path, help="cache directory (default: the user cache dir)")
    audit.add_argument("--jobs", "-j", type=int, default=0, help="processes for the summaries and the project rules (default: CPUs; 1: this one only)")
    audit.add_argument("--profile", action="store_true", help="print time per pipeline stage to stderr")
    audit.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    audit.add_argument("--date", default="", help="date to print in reports (YYYY-MM-DD); "
                                                   "reports carry no date otherwise")

    inventory = sub.add_parser("inventory", help="show the project model: counts with their "
                                                 "methods, endpoints, background work, state")
    inventory.add_argument("path", type=Path, help="project directory or a single file")
    inventory.add_argument("--format", "-f", choices=FORMATS, default="terminal")
    inventory.add_argument("--output", "-o", type=Path, help="write to this file")
    inventory.add_argument("--config", type=Path, help="config file")
    inventory.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    inventory.add_argument("--cache-dir", type=Path, help="cache directory")

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", "-f", choices=("text", "json", "md"), default="text",
                       help="md: the full rule reference (docs/rules.md is generated with it)")

    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="rule id (PA501) or slug (bare-except)")

    cache = sub.add_parser("cache", help="show or empty prodaudit's cache")
    cache.add_argument("action", choices=("info", "clean", "prune"),
                       help="info: where the cache is and what it holds; clean: remove every "
                            "entry; prune: remove unused builds and trim to the size limit now")
    cache.add_argument("--cache-dir", type=Path, help="cache directory (default: the user cache dir)")
    return parser


def _split(values: list[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def entry() -> int:
    """The `prodaudit` command (and `python -m prodaudit`): main() in a process of its own."""
    tune_garbage_collector()
    return main()


def tune_garbage_collector() -> None:
    """An audit allocates millions of small objects that live until it ends (syntax trees,
    facts, models) and makes little cyclic garbage, so with the default thresholds the
    cyclic collector walks the growing heap again and again: ~10 % of a cold audit's CPU
    on 200k lines, for no memory saved (peak RSS measured equal). Freeze what the imports
    made and collect less often. Process-wide, hence only for our own process, not for
    callers of main()."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 50)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `prodaudit PATH` means `prodaudit audit PATH`.
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "audit")
    parser = build_parser()
    args = parser.parse_args(argv)
    err = Console(stderr=True, highlight=False)
    try:
        if args.command == "audit":
            return cmd_audit(args, err)
        if args.command == "rules":
            return cmd_rules(args)
        if args.command == "inventory":
            return cmd_inventory(args)
        if args.command == "explain":
            return cmd_explain(args)
        if args.command == "cache":
            return cmd_cache(args)
        parser.print_help()
        return EXIT_USAGE
    except UsageError as exc:
        # Plain write: one line, never wrapped by the console width.
        sys.stderr.write(f"prodaudit: error: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.print(Text("prodaudit: interrupted", style="red"))
        return 130
    except BrokenPipeError:
        # `prodaudit rules | head`: the reader went away; nothing more to say.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def cmd_audit(args: argparse.Namespace, err: Console) -> int:
    from prodaudit.cache import Cache, prune
    from prodaudit.config import load_config
    from prodaudit.engine import AuditOptions, run_audit
    from prodaudit.report.terminal import render_terminal

    if args.date and not _valid_date(args.date):
        raise UsageError(f"--date must be YYYY-MM-DD, got {args.date!r}")
    progress = None
    bar = None
    if not args.no_progress and err.is_terminal:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        # No refresh thread (auto_refresh=False): the engine forks worker processes while
        # the bar is shown, and forking a process that runs other threads can deadlock the
        # child. The bar is redrawn here instead, at most every REDRAW_SECONDS.
        bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       console=err, transient=True, auto_refresh=False)
        task_ids: dict[str, int] = {}
        last_redraw = [0.0]

        def progress(stage: str, done: int, total: int) -> None:
            # Small trees finish before a bar is worth drawing: the first stage (the
            # summaries, by file) decides for the later ones (the rules).
            if not task_ids and total < 200:
                return
            if stage not in task_ids:
                bar.start()
                task_ids[stage] = bar.add_task(stage, total=total)
            bar.update(task_ids[stage], completed=done)
            now = time.monotonic()
            if done >= total or now - last_redraw[0] >= REDRAW_SECONDS:
                last_redraw[0] = now
                bar.refresh()

    # Terminal and JSON need the findings only: an unchanged tree reuses the cached result.
    findings_only = args.format in ("terminal", "json") and not args.report_dir
    options = AuditOptions(config_path=args.config, cache_dir=args.cache_dir,
                           use_cache=not args.no_cache, jobs=max(0, args.jobs), progress=progress,
                           select=_split(args.select), disable=_split(args.disable),
                           reuse_result=findings_only)
    try:
        result = run_audit(args.path, options)
    finally:
        if bar is not None:
            bar.stop()
    if args.profile:
        for stage, seconds in result.timings:
            err.print(f"{stage:<10} {seconds * 1000:8.1f} ms")
        err.print(f"{'total':<10} {sum(s for _, s in result.timings) * 1000:8.1f} ms")
        for name, seconds in result.rule_timings[:8]:
            err.print(f"  {name:<12} {seconds * 1000:8.1f} ms")

    written: list[str] = []
    renderers = _document_renderers(args.lang, args.date, Cache(args.cache_dir, not args.no_cache))
    if args.report_dir:
        for name, render in _report_files(args.lang).items():
            _write(args.report_dir / name, renderers[render](result))
            written.append(str(args.report_dir / name))
    if args.format in ("md", "html", "sarif"):
        text = renderers[args.format](result)
        if args.output:
            _write(args.output, text)
            written.append(str(args.output))
            render_terminal(result, Console(highlight=False, width=None if sys.stdout.isatty() else 160), written)
        else:
            sys.stdout.write(text)
    elif args.format == "json":
        text = renderers["json"](result)
        if args.output:
            _write(args.output, text)
            written.append(str(args.output))
            render_terminal(result, Console(highlight=False, width=None if sys.stdout.isatty() else 160), written)
        else:
            sys.stdout.write(text)  # stdout is the document: nothing else goes there
    else:
        if args.output:
            with open_output(args.output) as handle:
                render_terminal(result, Console(file=handle, highlight=False, width=120,
                                                color_system=None))
            written.append(str(args.output))
        render_terminal(result, Console(highlight=False, width=None if sys.stdout.isatty() else 160), written)

    if not args.no_cache:
        prune(args.cache_dir)  # at most hourly: old builds' entries, then down to the size limit
    config = result.project.config if result.project is not None else load_config(args.path, args.config)
    fail_on = args.fail_on or (config.fail_on.value if config and config.fail_on else None)
    if fail_on:
        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK


def _document_renderers(lang: str, date: str, cache: Cache) -> dict[str, Callable[[AuditResult], str]]:
    """Report text by format. Each renderer module is imported when its format is asked
    for: a warm JSON run must not pay for the HTML one."""

    def json_text(result: AuditResult) -> str:
        from prodaudit.report.json_report import render_json

        # 10k findings take a quarter of a second to render: an unchanged tree (the
        # engine reused its cached result) reuses the text too.
        return _cached_text(cache, result, ("json", date), lambda: render_json(result, date))

    def md_text(result: AuditResult) -> str:
        from prodaudit.report.markdown import render_markdown

        return render_markdown(result, lang, date)

    def html_text(result: AuditResult) -> str:
        from prodaudit.report.html import render_html

        return render_html(result, lang, date)

    def sarif_text(result: AuditResult) -> str:
        from prodaudit.report.sarif import render_sarif

        return render_sarif(result, date)

    return {"json": json_text, "md": md_text, "html": html_text, "sarif": sarif_text}


def _cached_text(cache: Cache, result: AuditResult, parts: tuple[str, ...],
                 render: Callable[[], str]) -> str:
    """The text `render` makes of `result`, kept under the engine's key of the audit's
    inputs (which already covers prodaudit's own code) plus `parts`, the renderer's other
    inputs."""
    if not result.cache_key:
        return render()
    key = cache.key("rendered", result.cache_key, *parts)
    text = cache.get(key)
    if isinstance(text, str):
        return text
    text = render()
    cache.put(key, text)
    return text


def _report_files(lang: str) -> dict[str, str]:
    suffix = "" if lang == "en" else f".{lang}"
    return {"report.json": "json", "report.sarif": "sarif", f"report{suffix}.md": "md",
            f"report{suffix}.html": "html"}


def open_output(path: Path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _valid_date(text: str) -> bool:
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def cmd_inventory(args: argparse.Namespace) -> int:
    from prodaudit.engine import AuditOptions, run_audit
    from prodaudit.report.inventory import render_inventory_json, render_inventory_terminal

    options = AuditOptions(config_path=args.config, cache_dir=args.cache_dir,
                           use_cache=not args.no_cache, run_rules=False)
    project = run_audit(args.path, options).project
    if args.format == "json":
        text = render_inventory_json(project)
        if args.output:
            _write(args.output, text)
        else:
            sys.stdout.write(text)
        return EXIT_OK
    if args.output:
        with open_output(args.output) as handle:
            render_inventory_terminal(project, Console(file=handle, width=160, color_system=None))
        return EXIT_OK
    render_inventory_terminal(project, Console(highlight=False, width=None if sys.stdout.isatty() else 160))
    return EXIT_OK


def cmd_rules(args: argparse.Namespace) -> int:
    rules = all_rules()
    if args.format == "md":
        sys.stdout.write(rules_reference_markdown(rules))
        return EXIT_OK
    if args.format == "json":
        rows = [{"id": r.meta.id, "slug": r.meta.slug, "family": r.meta.family,
                 "dimension": r.meta.dimension.value, "severity": r.meta.severity.value,
                 "confidence": r.meta.confidence.value, "status": r.meta.status.value,
                 "summary": r.meta.summary, "ruff_codes": list(r.meta.ruff_codes),
                 "cwe": list(r.meta.cwe), "effort_minutes": r.meta.effort_minutes} for r in rules]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return EXIT_OK
    table = Table(box=None, header_style="bold")
    for column in ("id", "slug", "family", "severity", "status", "finds"):
        table.add_column(column)
    for rule in rules:
        meta = rule.meta
        source = f" (ruff {', '.join(meta.ruff_codes[:3])}{'...' if len(meta.ruff_codes) > 3 else ''})" \
            if meta.ruff_codes else ""
        table.add_row(meta.id, meta.slug, meta.family, meta.severity.value, meta.status.value,
                      Text(meta.summary + source))
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(table)
    return EXIT_OK


def rules_reference_markdown(rules) -> str:
    """docs/rules.md: every rule's metadata and its docstring, generated, never edited."""
    out = ["# prodaudit rules", "",
           "Generated by `prodaudit rules --format md`; do not edit by hand.", "",
           "| id | slug | family | dimension | severity | confidence | status | ruff |",
           "|---|---|---|---|---|---|---|---|"]
    for rule in rules:
        meta = rule.meta
        out.append(f"| [{meta.id}](#{meta.id.lower()}-{meta.slug}) | {meta.slug} | {meta.family} | "
                   f"{meta.dimension.value} | {meta.severity.value} | {meta.confidence.value} | "
                   f"{meta.status.value} | {', '.join(meta.ruff_codes)} |")
    for rule in rules:
        meta = rule.meta
        doc = rule.doc().replace("## ", "#### ")
        facts = [f"family {meta.family}", f"dimension {meta.dimension.value}",
                 f"severity {meta.severity.value}", f"confidence {meta.confidence.value}",
                 f"effort {meta.effort_minutes} min"]
        if meta.cwe:
            facts.append("CWE " + ", ".join(f"CWE-{c}" for c in meta.cwe))
        if meta.owasp:
            facts.append("OWASP " + ", ".join(meta.owasp))
        out += ["", f"### {meta.id} {meta.slug}", "", meta.summary + ".", "", "; ".join(facts) + ".",
                "", doc]
    return "\n".join(out) + "\n"


def cmd_explain(args: argparse.Namespace) -> int:
    rule = rule_by_key(args.rule)
    if rule is None:
        raise UsageError(f"unknown rule {args.rule!r} (see `prodaudit rules`)")
    meta = rule.meta
    header = [f"{meta.id} {meta.slug}",
              (f"family: {meta.family}   dimension: {meta.dimension.value}   severity: "
               f"{meta.severity.value}   confidence: {meta.confidence.value}   status: {meta.status.value}"),
              f"effort: {meta.effort_minutes} min per finding"]
    if meta.ruff_codes:
        header.append(f"bridged from ruff: {', '.join(meta.ruff_codes)}")
    if meta.cwe:
        header.append(f"CWE: {', '.join(f'CWE-{c}' for c in meta.cwe)}   OWASP: {', '.join(meta.owasp)}")
    sys.stdout.write("\n".join(header) + "\n\n" + rule.doc() + "\n")
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from prodaudit import cache

    root = args.cache_dir or cache.default_cache_dir()
    if args.action == "clean":
        report = cache.clear(root)
        sys.stdout.write(f"removed {_count(report.removed_entries, 'entry', 'entries')} "
                         f"({_megabytes(report.removed_bytes)}) from {root}\n")
        return EXIT_OK
    if args.action == "prune":
        report = cache.prune(root, force=True)
        if report is None:
            sys.stdout.write(f"no cache at {root}\n")
            return EXIT_OK
        builds = (f"; {_count(len(report.removed_builds), 'unused build', 'unused builds')}"
                  if report.removed_builds else "")
        sys.stdout.write(f"removed {_count(report.removed_entries, 'entry', 'entries')} "
                         f"({_megabytes(report.removed_bytes)}{builds}); "
                         f"{_megabytes(report.kept_bytes)} kept in {root}\n")
        return EXIT_OK
    builds = cache.cache_usage(root)
    total = sum(build.size for build in builds)
    entries = _count(sum(build.entries for build in builds), "entry", "entries")
    limit = _megabytes(cache.max_cache_bytes())
    lines = [f"cache directory: {root}",
             f"size: {_megabytes(total)} in {entries} (limit {limit}, PRODAUDIT_CACHE_MAX_MB to change)"]
    for build in builds:
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(build.last_used))
        marker = "  (this prodaudit)" if build.current else ""
        lines.append(f"  {build.name}: {_count(build.entries, 'entry', 'entries')}, {_megabytes(build.size)}, "
                     f"last used {used}{marker}")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _megabytes(size: int) -> str:
    return f"{size / 1024**2:.1f} MB"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
