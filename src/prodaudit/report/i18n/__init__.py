"""One message catalog for every fixed string of the Markdown and HTML reports.

`Catalog(lang).t(key, **params)` formats a message; English (en.py) is the reference and
every other language must have every key (tests/test_report_i18n.py checks it). Rule titles,
fixes and "why" paragraphs come from the rule's metadata in English; a language may give
its own per rule id (RULES in its module). A rule without one falls back to English, and
the test names the rules that lack a translation.
"""

from __future__ import annotations

from prodaudit.report.i18n import en, ru

LANGUAGES = ("en", "ru")
_MODULES = {"en": en, "ru": ru}


def plural_index(lang: str, n: int) -> int:
    """Index into a tuple of plural forms: en (one, other); ru (one, few, many)."""
    if lang == "ru":
        if n % 10 == 1 and n % 100 != 11:
            return 0
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return 1
        return 2
    return 0 if n == 1 else 1


class Catalog:
    def __init__(self, lang: str = "en"):
        if lang not in _MODULES:
            raise ValueError(f"unknown report language {lang!r} (known: {', '.join(LANGUAGES)})")
        self.lang = lang
        module = _MODULES[lang]
        self.messages: dict = module.MESSAGES
        self.rules: dict = getattr(module, "RULES", {})
        self.stat_methods: dict = getattr(module, "STAT_METHODS", {})

    def t(self, key: str, **params) -> str:
        text = self.messages.get(key)
        if text is None:
            text = en.MESSAGES[key]  # KeyError here is a bug: the key is missing everywhere
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self.messages

    # -- words ----------------------------------------------------------------------------
    def plural(self, n: int, noun: str) -> str:
        forms = self.messages.get("n." + noun) or en.MESSAGES["n." + noun]
        return forms[min(plural_index(self.lang, n), len(forms) - 1)]

    def count(self, n: int, noun: str) -> str:
        return f"{n} {self.plural(n, noun)}"

    def duration(self, minutes: float) -> str:
        whole = round(minutes)
        hours, rest = divmod(whole, 60)
        if hours and rest:
            return self.t("duration.hm", h=hours, m=rest)
        if hours:
            return self.t("duration.h", h=hours)
        return self.t("duration.m", m=rest)

    def severity(self, value: str) -> str:
        return self.t("severity." + value)

    def severity_title(self, value: str) -> str:
        return self.t("severity-title." + value)

    def dimension(self, value: str) -> str:
        return self.t("dimension." + value)

    def confidence(self, value: str) -> str:
        return self.t("confidence." + value)

    def verdict(self, value: str) -> str:
        return self.t("verdict." + value)

    def service_kind(self, kind: str) -> str:
        key = "service." + kind
        return self.t(key) if key in en.MESSAGES else kind

    def suppression_how(self, how: str) -> str:
        key = "how." + how
        return self.t(key) if key in en.MESSAGES else how

    def stat_label(self, key: str, label: str) -> str:
        if key.startswith("console_") and key != "console_calls":
            return self.t("stat.console_kind", kind=key.removeprefix("console_"))
        message = "stat." + key
        return self.t(message) if message in en.MESSAGES else label

    def stat_method(self, key: str, method: str) -> str:
        """The counting method of a stat in this language (English as the model says it)."""
        if self.lang == "en":
            return method
        family = "console" if key.startswith("console_") else (
            "task_comments" if key.startswith("task_comments") else key)
        return self.stat_methods.get(family, method)

    # -- rules ----------------------------------------------------------------------------
    def _rule(self, rule_id: str, part: str) -> str:
        return self.rules.get(rule_id, {}).get(part, "")

    def rule_title(self, rule_id: str, meta) -> str:
        return self._rule(rule_id, "title") or (meta.summary if meta is not None else rule_id)

    def rule_fix(self, rule_id: str, meta, finding_fix: str = "") -> str:
        """English: the finding's own advice when all findings share one, else the rule's.
        Other languages: the catalog's fix for the rule, else the English text."""
        translated = self._rule(rule_id, "fix")
        if translated:
            return translated
        return finding_fix or (meta.fix if meta is not None else "")

    def rule_why(self, rule_id: str, rule_class) -> str:
        translated = self._rule(rule_id, "why")
        if translated:
            return translated
        if rule_class is None:
            return ""
        section = rule_class.doc_section("Why is this bad?")
        return " ".join(section.split("\n\n")[0].split())

    def group_title(self, key: str, metas: dict) -> str:
        message = "group." + key
        if message in en.MESSAGES:
            return self.t(message)
        return self.rule_title(key, metas.get(key))
