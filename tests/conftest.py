import os

# Rules that crash must fail the tests, not become internal-error findings.
os.environ.setdefault("PRODAUDIT_STRICT", "1")


import pytest


@pytest.fixture
def asked_extractors(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The extractors whose facts anything asks for (ModuleSummary.facts_of) during the
    test; "" for generic fact types."""
    from prodaudit.model.extractors import extractor_of
    from prodaudit.model.facts import ModuleSummary

    asked: set[str] = set()
    facts_of = ModuleSummary.facts_of

    def recording_facts_of(summary: ModuleSummary, kind: type) -> list:
        asked.add(extractor_of(kind) or "")
        return facts_of(summary, kind)

    monkeypatch.setattr(ModuleSummary, "facts_of", recording_facts_of)
    return asked
