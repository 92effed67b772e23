"""The message catalog: Russian has every English key with the same placeholders, plural
forms work, and every rule registered when the report was built has a Russian title and
fix. Rules added later are listed (a warning names them) until the lead translates them."""

from __future__ import annotations

import re
import string
import warnings

import pytest

from prodaudit.report.i18n import LANGUAGES, Catalog, en, plural_index, ru
from prodaudit.rules.base import all_rules

# Every registered rule must have its Russian title, fix and "why": a rule added without
# them fails here instead of silently showing English in a Russian report.
MUST_BE_TRANSLATED = frozenset(rule.meta.id for rule in all_rules())


def fields(text) -> set[str]:
    if isinstance(text, tuple):
        return set()
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_key_translated_with_the_same_placeholders(lang: str) -> None:
    module = {"ru": ru}[lang]
    missing = sorted(set(en.MESSAGES) - set(module.MESSAGES))
    extra = sorted(set(module.MESSAGES) - set(en.MESSAGES))
    assert not missing and not extra, (missing, extra)
    for key, text in en.MESSAGES.items():
        assert fields(module.MESSAGES[key]) == fields(text), key
        assert type(module.MESSAGES[key]) is type(text), key


def test_russian_is_russian() -> None:
    # Fixed sentences must not be left in English (names like PostgreSQL or Redis may stay).
    english_sentences = [key for key, text in ru.MESSAGES.items()
                         if isinstance(text, str) and len(text) > 40 and not re.search("[а-яА-ЯёЁ]", text)]
    assert english_sentences == []


def test_plural_forms() -> None:
    catalog = Catalog("ru")
    assert [catalog.count(n, "finding") for n in (1, 2, 5, 11, 21, 22, 112)] == [
        "1 находка", "2 находки", "5 находок", "11 находок", "21 находка", "22 находки", "112 находок"]
    assert Catalog("en").count(1, "finding") == "1 finding" and Catalog("en").count(0, "finding") == "0 findings"
    assert plural_index("en", 2) == 1
    assert Catalog("ru").duration(90) == "1 ч 30 мин" and Catalog("en").duration(120) == "2 h"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        Catalog("de")


def test_rules_that_must_be_translated_are() -> None:
    registered = {cls.meta.id for cls in all_rules()}
    for rule_id in sorted(MUST_BE_TRANSLATED & registered):
        entry = ru.RULES.get(rule_id, {})
        assert entry.get("title") and entry.get("fix"), rule_id
        assert re.search("[а-яА-ЯёЁ]", entry["title"] + entry["fix"]), rule_id


def test_rules_without_russian_are_listed() -> None:
    registered = {cls.meta.id for cls in all_rules()}
    lacking = sorted(r for r in registered if not ru.RULES.get(r, {}).get("title"))
    if lacking:
        # Visible in the pytest summary; the Russian report shows these in English.
        warnings.warn(f"rules without a Russian title/fix (shown in English): {', '.join(lacking)}",
                      stacklevel=1)
    assert set(lacking).isdisjoint(MUST_BE_TRANSLATED)
    stale = sorted(set(ru.RULES) - registered)
    assert stale == [], f"translations for rules that do not exist: {stale}"
