"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

Follows the OASIS schema (validated in tests/test_report_sarif.py against the official
sarif-schema-2.1.0.json) and GitHub's documented ingestion rules:
- every result has ruleId, a ruleIndex into tool.driver.rules and exactly one location
  whose artifactLocation.uri is relative to %SRCROOT% (project-level findings point at
  their first evidence file, else at the project's manifest: GitHub rejects the whole
  upload when one result has no location);
- levels: critical/high -> error, medium -> warning, low/info -> note;
- rules carry shortDescription, fullDescription and help (text and markdown) from the
  rule documentation, tags (dimension, family, external/cwe/cwe-N), precision, and a
  security-severity (a number as a string) for security rules only;
- partialFingerprints carry prodaudit's own fingerprint (rule + path + anchor + snippet,
  no line numbers), so alerts follow code that moves;
- evidence chains become relatedLocations; suppressed findings are results with a
  `suppressions` entry and their justification.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import prodaudit
from prodaudit.findings import AuditResult, Finding, Location, Severity
from prodaudit.report.document import is_positive
from prodaudit.rules.base import Rule, all_rules

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "prodauditFingerprint/v1"
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "note", Severity.INFO: "note"}
# GitHub: > 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "1.0"}
PRECISION = {"high": "high", "medium": "medium", "low": "low"}
MAX_DESCRIPTION = 1024  # GitHub truncates longer short/full descriptions
MAX_RELATED = 100
MANIFESTS = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt", "Pipfile",
             "Dockerfile", "docker-compose.yml", "README.md")
SUPPRESSION_KIND = {"inline": "inSource", "file": "inSource", "noqa": "inSource",
                    "config": "external", "baseline": "external"}


def _uri(path: str) -> str:
    return quote(path, safe="/-._~")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION - 3] + "..."


def _region(location: Location, snippet: str = "") -> dict | None:
    if location.line <= 0:
        return None
    region: dict = {"startLine": location.line}
    if location.column > 0:
        region["startColumn"] = location.column
    if location.end_line >= location.line and (location.end_line > location.line
                                               or location.end_column > location.column):
        region["endLine"] = location.end_line
        if location.end_column > 0:
            region["endColumn"] = location.end_column
    if snippet:
        region["snippet"] = {"text": snippet}
    return region


def _physical(location: Location, snippet: str = "") -> dict:
    physical: dict = {"artifactLocation": {"uri": _uri(location.path), "uriBaseId": SRCROOT}}
    region = _region(location, snippet)
    if region is not None:
        physical["region"] = region
    return physical


def _fallback_path(result: AuditResult) -> str:
    project = result.project
    if project is None:
        return ""
    paths = [f.path for f in project.discovery.files]
    for name in MANIFESTS:
        if name in paths:
            return name
    return min(paths, default="")


def _primary(finding: Finding, fallback: str) -> Location | None:
    if finding.location.path:
        return finding.location
    for evidence in finding.evidence:
        if evidence.location.path:
            return evidence.location
    return Location(fallback) if fallback else None


def rule_descriptor(cls: type[Rule]) -> dict:
    meta = cls.meta
    doc = cls.doc()
    what = cls.doc_section("What it does") or meta.summary
    help_text = doc or meta.summary
    tags = [meta.dimension.value, meta.family]
    if meta.dimension.value == "security" or meta.cwe:
        tags.insert(0, "security")
    tags += [f"external/cwe/cwe-{cwe}" for cwe in meta.cwe]
    tags += [f"external/owasp/{item}" for item in meta.owasp]
    properties: dict = {"tags": list(dict.fromkeys(tags))[:20], "precision": PRECISION[meta.confidence.value],
                        "problem.severity": {"error": "error", "warning": "warning",
                                             "note": "recommendation"}[LEVEL[meta.severity]],
                        "effortMinutes": meta.effort_minutes}
    if "security" in properties["tags"]:
        properties["security-severity"] = SECURITY_SEVERITY[meta.severity]
    return {
        "id": meta.id,
        "name": meta.slug,
        "shortDescription": {"text": _clip(meta.summary)},
        "fullDescription": {"text": _clip(what)},
        "help": {"text": help_text + (f"\n\nFix: {meta.fix}" if meta.fix else ""),
                 "markdown": help_text + (f"\n\n**Fix:** {meta.fix}" if meta.fix else "")},
        "defaultConfiguration": {"level": LEVEL[meta.severity]},
        "properties": properties,
    }


def _result(finding: Finding, index: dict[str, int], fallback: str) -> dict:
    result: dict = {"ruleId": finding.rule_id, "ruleIndex": index[finding.rule_id],
                    "level": LEVEL[finding.severity], "message": {"text": finding.message}}
    primary = _primary(finding, fallback)
    if primary is not None:
        snippet = finding.excerpt if primary == finding.location else ""
        result["locations"] = [{"physicalLocation": _physical(primary, snippet)}]
    related = []
    for number, evidence in enumerate(finding.evidence[:MAX_RELATED], 1):
        if not evidence.location.path:
            continue
        related.append({"id": number, "physicalLocation": _physical(evidence.location, evidence.excerpt),
                        "message": {"text": evidence.role}})
    if related:
        result["relatedLocations"] = related
    if finding.fingerprint:
        result["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    properties: dict = {"severity": finding.severity.value, "confidence": finding.confidence.value}
    if finding.fix:
        properties["fix"] = finding.fix
    if finding.anchor:
        properties["anchor"] = finding.anchor
    if finding.source:
        properties["source"] = finding.source
    result["properties"] = properties
    return result


def build_sarif(result: AuditResult, date: str = "") -> dict:
    registry = {cls.meta.id: cls for cls in all_rules()}
    findings = [f for f in result.findings if not is_positive(f)]
    wanted = list(dict.fromkeys([*result.rules_run, *(f.rule_id for f in findings),
                                 *(s.finding.rule_id for s in result.suppressed)]))
    rule_classes = [registry[r] for r in wanted if r in registry]
    index = {cls.meta.id: number for number, cls in enumerate(rule_classes)}
    fallback = _fallback_path(result)
    results = [_result(f, index, fallback) for f in findings if f.rule_id in index]
    for item in result.suppressed:
        if item.finding.rule_id not in index:
            continue
        entry = _result(item.finding, index, fallback)
        entry["suppressions"] = [{"kind": SUPPRESSION_KIND.get(item.how, "external"),
                                  "justification": item.reason}]
        results.append(entry)
    notifications = [{"level": "warning" if note.kind == "warning" else "note",
                      "message": {"text": f"{note.path}: {note.message}" if note.path else note.message}}
                     for note in result.notes]
    run: dict = {
        "tool": {"driver": {"name": "prodaudit", "version": prodaudit.__version__,
                            "semanticVersion": prodaudit.__version__,
                            "rules": [rule_descriptor(cls) for cls in rule_classes]}},
        "originalUriBaseIds": {SRCROOT: {"description": {"text": f"the audited directory ({result.root})"}}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    if date:
        run["properties"] = {"date": date}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(result: AuditResult, date: str = "") -> str:
    return json.dumps(build_sarif(result, date), indent=2, ensure_ascii=False) + "\n"
