from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Dimension, Finding, Location, Severity
from prodaudit.model.inventory import CONSOLE_CALL
from prodaudit.rules.base import ProjectRule, RuleMeta, register

TEST_FILE = re.compile(r"(\.(test|spec|stories)\.[jt]sx?$|(^|/)(__tests__|tests?|e2e|cypress)/)")


@register
class ConsoleLogFrontend(ProjectRule):
    """
    ## What it does
    Lists `console.log/debug/info/trace/table/dir` calls in frontend files
    (.js/.jsx/.ts/.tsx/.vue/.svelte/.mjs/.cjs), outside tests, stories and minified
    bundles, ignoring lines that start with `//`, `/*` or `*`. `console.warn` and
    `console.error` are not reported: they are how a frontend reports problems. The
    inventory counts all of them by kind with the same method.

    ## Why is this bad?
    Debug output ships to every user's browser console: it leaks internal data (tokens,
    API responses) and noise hides the real errors (seed 002 P1 #3: 66 occurrences).

    ## Example
    ```text
    # file: frontend/src/api.ts
    export async function login(body) {
      const response = await fetch("/auth/login", { method: "POST", body });
      console.log("login response", response);
      return response.json();
    }
    ```

    ## Use instead
    ```text
    # file: frontend/src/api.ts
    export async function login(body) {
      const response = await fetch("/auth/login", { method: "POST", body });
      if (!response.ok) console.error("login failed", response.status);
      return response.json();
    }
    ```

    ## Known limitations
    Text-based: a `console.log(` inside a string or a multi-line comment body is counted;
    a build step that strips console calls (terser drop_console) is not seen.
    """

    meta = RuleMeta(
        id="PA707", slug="console-log-frontend", family="maintainability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.LOW,
        summary="console.log/debug in frontend code outside tests",
        effort_minutes=2, file_kinds=("frontend",),
        fix="Remove debug output or route it through a logger disabled in production builds.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        for file in project.files_of_kind("frontend"):
            if TEST_FILE.search(file.path):
                continue
            text = project.read_text(file.path) or ""
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip().startswith(("//", "/*", "*")):
                    continue
                for match in CONSOLE_CALL.finditer(line):
                    if match.group(1) in ("warn", "error"):
                        continue
                    yield self.finding(f"console.{match.group(1)} in frontend code",
                                       Location(file.path, number, match.start() + 1),
                                       anchor=f"console.{match.group(1)}")
