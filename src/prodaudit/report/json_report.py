"""The JSON document (schema: docs/schema/report.schema.json, version SCHEMA_VERSION).

Deterministic: keys sorted, findings sorted by (path, line, rule), no timestamps or
durations unless the caller passes a date (then it appears under "metadata" only).
"""

from __future__ import annotations

import json
from collections import Counter

import prodaudit
from prodaudit.findings import AuditResult, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import all_rules

SCHEMA_VERSION = "1.0"


def location_json(location: Location) -> dict:
    return {"path": location.path, "line": location.line, "column": location.column,
            "end_line": location.end_line, "end_column": location.end_column}


def evidence_json(evidence: Evidence) -> dict:
    return {"location": location_json(evidence.location), "role": evidence.role,
            "excerpt": evidence.excerpt}


def finding_json(finding: Finding, metas: dict) -> dict:
    meta = metas.get(finding.rule_id)
    return {
        "rule_id": finding.rule_id,
        "slug": meta.slug if meta else "",
        "title": meta.summary if meta else "",
        "dimension": meta.dimension.value if meta else "",
        "message": finding.message,
        "severity": finding.severity.value,
        "confidence": finding.confidence.value,
        "location": location_json(finding.location),
        "excerpt": finding.excerpt,
        "evidence": [evidence_json(e) for e in finding.evidence],
        "fix": finding.fix,
        "anchor": finding.anchor,
        "fingerprint": finding.fingerprint,
        "effort_minutes": meta.effort_minutes if meta else 0,
        "source": finding.source,
        "details": {key: value for key, value in finding.details},
    }


def summary_json(result: AuditResult, metas: dict) -> dict:
    by_severity = Counter(f.severity.value for f in result.findings)
    by_dimension = Counter(metas[f.rule_id].dimension.value for f in result.findings
                           if f.rule_id in metas)
    return {
        "files": result.files_analyzed,
        "findings": len(result.findings),
        "by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        "by_dimension": {d.value: by_dimension.get(d.value, 0) for d in Dimension},
        "suppressed": len(result.suppressed),
        "suppressed_without_reason": sum(1 for s in result.suppressed
                                         if s.reason == "(no reason given)"),
    }


def build_document(result: AuditResult, date: str = "") -> dict:
    metas = {cls.meta.id: cls.meta for cls in all_rules()}
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "prodaudit", "version": prodaudit.__version__},
        "root": result.root,
        "summary": summary_json(result, metas),
        "findings": [finding_json(f, metas) for f in result.findings],
        "suppressed": [
            {**finding_json(s.finding, metas),
             "suppression": {"how": s.how, "reason": s.reason,
                             "location": location_json(s.location)}}
            for s in result.suppressed
        ],
        "notes": [{"kind": n.kind, "message": n.message, "path": n.path} for n in result.notes],
        "rules_run": list(result.rules_run),
        "metadata": {"date": date} if date else {},
    }
    return document


def render_json(result: AuditResult, date: str = "") -> str:
    return json.dumps(build_document(result, date), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"
