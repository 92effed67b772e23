"""SARIF 2.1.0: valid against the official OASIS schema (tests/data, see its NOTICE) and
within GitHub code scanning's documented ingestion rules."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from report_projects import DATE, hostile_result, shopapi_result

from prodaudit.findings import AuditResult, Confidence, Evidence, Finding, Location, Severity
from prodaudit.report.sarif import FINGERPRINT_KEY, build_sarif, render_sarif
from prodaudit.rules.base import all_rules

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
VALIDATOR = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
METAS = {cls.meta.id: cls.meta for cls in all_rules()}


def validate(document: dict) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [(list(e.path), e.message[:200]) for e in errors[:5]]


def github_checks(document: dict) -> None:
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert len(rule["shortDescription"]["text"]) <= 1024
        assert len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["text"] and rule["help"]["markdown"]
        tags = rule["properties"]["tags"]
        assert len(tags) <= 20
        meta = METAS[rule["id"]]
        if "security" in tags:
            score = float(rule["properties"]["security-severity"])
            assert 0.0 < score <= 10.0
        else:
            assert "security-severity" not in rule["properties"]
        for cwe in meta.cwe:
            assert f"external/cwe/cwe-{cwe}" in tags
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        assert len(result["locations"]) == 1
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert artifact["uri"] and not artifact["uri"].startswith(("/", "file:"))
        region = result["locations"][0]["physicalLocation"].get("region")
        if region:
            assert region["startLine"] >= 1
        assert result["partialFingerprints"][FINGERPRINT_KEY]
        for related in result.get("relatedLocations", []):
            assert related["physicalLocation"]["artifactLocation"]["uri"]


def test_example_sarif_is_valid_and_uploadable() -> None:
    document = build_sarif(shopapi_result(), DATE)
    validate(document)
    github_checks(document)
    run = document["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["PA103"]["level"] == "error" and by_rule["PA103"]["relatedLocations"]
    pa103 = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "PA103")
    assert pa103["properties"]["security-severity"] == "9.5"
    assert "external/cwe/cwe-770" in pa103["properties"]["tags"]
    assert render_sarif(shopapi_result(), DATE) == render_sarif(shopapi_result(), DATE)


def test_hostile_project_sarif_is_valid(tmp_path: Path) -> None:
    result = hostile_result(tmp_path)
    document = build_sarif(result)
    validate(document)
    github_checks(document)
    results = document["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert any("%3Cscript%3E" in uri and "%22" in uri for uri in uris)  # percent-encoded
    suppressed = [r for r in results if r.get("suppressions")]
    assert suppressed and suppressed[0]["suppressions"][0]["kind"] == "inSource"
    assert "</td>" in suppressed[0]["suppressions"][0]["justification"]  # data, kept verbatim


def test_project_level_finding_gets_a_location(tmp_path: Path) -> None:
    base = hostile_result(tmp_path)
    level = Finding("PA404", "project-level fact", Location(""), Severity.HIGH, Confidence.HIGH,
                    fingerprint="0" * 20)
    chained = Finding("PA404", "with evidence", Location(""), Severity.HIGH, Confidence.HIGH,
                      evidence=(Evidence(Location("app/plain.py", 2), "declared here"),),
                      fingerprint="1" * 20)
    result = AuditResult(root=base.root, findings=(level, chained), rules_run=("PA404",),
                         project=base.project)
    document = build_sarif(result)
    validate(document)
    github_checks(document)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in document["runs"][0]["results"]]
    assert uris[1] == "app/plain.py"
    assert uris[0] in {f.path for f in base.project.discovery.files}


@pytest.mark.parametrize("severity,level", [(Severity.CRITICAL, "error"), (Severity.HIGH, "error"),
                                            (Severity.MEDIUM, "warning"), (Severity.LOW, "note"),
                                            (Severity.INFO, "note")])
def test_level_mapping(severity: Severity, level: str) -> None:
    finding = Finding("PA501", "m", Location("a.py", 3, 5, 3, 9), severity, Confidence.HIGH,
                      fingerprint="2" * 20)
    document = build_sarif(AuditResult(root="r", findings=(finding,), rules_run=("PA501",)))
    validate(document)
    result = document["runs"][0]["results"][0]
    assert result["level"] == level
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 9}
