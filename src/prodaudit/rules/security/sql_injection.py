from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.extractors.security import SqlBuild
from prodaudit.rules.base import BridgedRule, ProjectRule, RuleMeta, register

ENUM_BASES = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum", "enum.Flag", "enum.IntFlag"})


@register
class SqlInjection(BridgedRule, ProjectRule):
    """
    ## What it does
    Finds SQL built with f-strings, `.format()`, `%` or `+` from values that are not
    constants, and executed with `text()`, `execute()`, `exec_driver_sql()` or a raw
    cursor, directly or through a local variable (`q = f"..."; session.execute(text(q))`).
    Values that cannot carry SQL are not reported: constants, `int()` conversions,
    parameters typed int/UUID/Literal, identifiers looked up in a fixed dict or checked
    against a constant collection before use, parameters annotated with an Enum class of
    the project, and `cls.x`/`self.x` where every class in the module sets `x` to a literal
    (or annotates it int/float...) and nothing assigns it.
    String-built SQL that is not seen reaching an execute call is reported through ruff S608.

    ## Why is this bad?
    Any value that reaches the string from a user can change the query: read other
    users' rows, drop tables, bypass login. Quoting by hand is never complete.

    ## Example
    ```python
    def search(cursor, name):
        query = f"SELECT * FROM users WHERE name = '{name}'"
        cursor.execute(query)
    ```

    ## Use instead
    ```python
    def search(cursor, name):
        cursor.execute("SELECT * FROM users WHERE name = %s", (name,))
    ```

    ## Known limitations
    Flows are followed inside one function; SQL assembled in one function and executed in
    another is reported by ruff S608 at the place it is built, without the allow-list
    analysis. Recognising an allow-list needs the check or lookup to be in the function
    that builds the string. Severity follows reach: critical from an HTTP route, high from
    a bot handler or background job, and medium with low confidence ("review") when no
    entry point reaches the code (migrations, CLI, scripts), where identifiers such as a
    schema or column name are usually built in on purpose.
    """

    needs = ("security",)
    meta = RuleMeta(
        id="PA405", slug="sql-injection", family="security", dimension=Dimension.SECURITY,
        severity=Severity.HIGH, confidence=Confidence.MEDIUM,
        summary="SQL built with f-string/format/concatenation from non-constant values",
        effort_minutes=20, cwe=(89,), owasp=("A03:2021",), ruff_codes=("S608",),
        file_kinds=("source",),
        fix="Use bound parameters: text('... WHERE id = :id') with {'id': value}.",
    )

    # SQL built where we cannot see it executed is a review item, not a proven injection.
    severity_by_code: ClassVar[dict[str, Severity]] = {"S608": Severity.MEDIUM}

    def check_project(self, project) -> Iterator[Finding]:
        builds = [(m, b) for m, b in project.security.sql_builds()
                  if not b.safe and b.sink_line and not self.enum_values_only(project, m, b)]
        if not builds:
            return
        graph = project.callgraph
        reached = graph.reachable(project.entry_points)
        for module, build in builds:
            key = f"{module.module}:{build.scope}"
            entry = reached.get(key)
            web = entry is not None and not entry[0].startswith(("bot ", "task", "lifespan", "startup"))
            evidence = [Evidence(Location(module.path, build.sink_line),
                                 f"executed here by {build.sink}" + (f" through `{build.via}`" if build.via else ""))]
            if entry is not None:
                node = graph.nodes.get(key)
                evidence.append(Evidence(node.location if node else Location(module.path, build.line),
                                         f"reached from {graph.describe_path(entry[0], entry[1])}"))
            values = ", ".join(f"`{part}`" for part in build.unsafe_parts[:3])
            # No entry point reaches it (migrations, CLI, scripts): the values rarely come
            # from an attacker, so it is a review item, not a high finding.
            if web:
                severity, confidence, suffix = Severity.CRITICAL, None, f" (reachable from {entry[0]})"
            elif entry is not None:
                severity, confidence, suffix = Severity.HIGH, None, ""
            else:
                severity, confidence = Severity.MEDIUM, Confidence.LOW
                suffix = " (review: no route, bot handler or job reaches it)"
            yield self.finding(
                f"SQL text built from {values} is executed by {build.sink}: a value containing a quote "
                f"rewrites the query" + suffix,
                Location(module.path, build.line),
                severity=severity, confidence=confidence,
                evidence=evidence,
                anchor=f"{key}:sql:{build.unsafe_parts[0] if build.unsafe_parts else ''}",
            )

    @classmethod
    def accepts_in_project(cls, project, code: str, path: str, line: int) -> bool:
        """Drop S608 where the only values built in are Enum-typed parameters."""
        module = project.modules.get(path)
        if module is None:
            return True
        here = [b for b in module.facts_of(SqlBuild) if b.line == line]
        return not here or not all(b.safe or cls.enum_values_only(project, module, b) for b in here)

    @classmethod
    def enum_values_only(cls, project, module, build) -> bool:
        """Every value built in is a parameter annotated with an Enum class of the project
        (`event: WebhookEventType`): FastAPI admits only its members, fixed strings."""
        fn = module.function(build.scope) if build.scope else None
        if fn is None or not build.unsafe_parts:
            return False
        params = {param.name: param for param in fn.params}
        return all(part in params and params[part].annotation is not None
                   and cls.is_enum(project, params[part].annotation, module, 0)
                   for part in build.unsafe_parts)

    @classmethod
    def is_enum(cls, project, annotation, module, depth: int) -> bool:
        if depth > 4 or annotation.kind not in ("name", "attr"):
            return False
        if annotation.name in ENUM_BASES:
            return True
        found = project.resolve_symbol(annotation.name)
        target, qualname = found if found is not None else (module, annotation.text)
        fact = target.class_fact(qualname)
        return fact is not None and any(cls.is_enum(project, base, target, depth + 1) for base in fact.bases)

    @classmethod
    def accepts(cls, code: str, message: str, path: str, line_text: str, module) -> bool:
        """Drop ruff's S608 where every value built into the SQL is known to be safe
        (allow-listed identifiers, int conversions, constants)."""
        if module is None:
            return True
        here = [b for b in module.facts_of(SqlBuild) if b.line_text == line_text]
        return not here or not all(b.safe for b in here)
