from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.values import Value
from prodaudit.rules.base import ProjectRule, RuleMeta, register

RETRY_POLICIES = frozenset({
    "tenacity.retry", "tenacity.Retrying", "tenacity.AsyncRetrying",
    "tenacity.asyncio.AsyncRetrying", "backoff.on_exception", "backoff.on_predicate",
    "retrying.retry", "stamina.retry",
})
MIN_COPIES = 3


def normalized(value: Value) -> str:
    """A spelling-independent form: resolved names, sorted keywords, literal reprs."""
    if value.kind == "const":
        return repr(value.const)
    if value.kind in ("name", "attr"):
        return value.name or value.text
    if value.kind == "call":
        args = [normalized(v) for v in value.items]
        args += [f"{key}={normalized(v)}" for key, v in sorted(value.keywords, key=lambda kv: kv[0])]
        return f"{value.name}({', '.join(args)})"
    if value.kind in ("list", "tuple", "set"):
        return f"{value.kind}({', '.join(normalized(v) for v in value.items)})"
    return " ".join(value.text.split())


@register
class DuplicatedRetryPolicy(ProjectRule):
    """
    ## What it does
    Finds the same retry configuration (tenacity `@retry(stop=..., wait=..., retry=...)`,
    `Retrying(...)`, backoff `@backoff.on_exception(...)`, `stamina.retry(...)`) written
    out 3 or more times with identical arguments (compared after resolving imports and
    ordering keywords), and reports it once with every copy as evidence.

    ## Why is this bad?
    A retry policy is a decision about an upstream service (how many attempts, how long
    to wait, which errors are transient). Copied by hand, the copies drift: one gets
    fixed after an incident and the others keep retrying the old way, and nobody can
    change "how we retry the database" in one place (seed 001 #42).

    ## Example
    ```python
    from tenacity import retry, stop_after_attempt, wait_exponential

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=10))
    def get_user(user_id): ...

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=10))
    def get_order(order_id): ...

    @retry(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=10))
    def get_invoice(invoice_id): ...
    ```

    ## Use instead
    ```python
    from tenacity import retry, stop_after_attempt, wait_exponential

    db_retry = retry(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=10))

    @db_retry
    def get_user(user_id): ...

    @db_retry
    def get_order(order_id): ...

    @db_retry
    def get_invoice(invoice_id): ...
    ```

    ## Known limitations
    Only identical configurations are grouped; near-copies (3 attempts here, 5 there)
    are not reported. A policy without arguments (`@retry()`) is not a configuration.
    """

    meta = RuleMeta(
        id="PA506", slug="duplicated-retry-policy", family="reliability",
        dimension=Dimension.MAINTAINABILITY, severity=Severity.LOW,
        summary="the same retry/backoff configuration copied in 3+ places",
        effort_minutes=15, technology=("tenacity", "backoff"),
        fix="Define the policy once (`db_retry = retry(...)`) and reuse it as `@db_retry`.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        groups: dict[str, list[tuple[Location, str]]] = {}
        for module in project.summaries("source"):
            for call in module.calls:
                if call.name not in RETRY_POLICIES or call.has_star_args:
                    continue
                if not call.args and not call.keywords:
                    continue  # library defaults, not a configuration
                key = normalized(call.as_value())
                written = ", ".join([*(v.text for v in call.args),
                                     *(f"{k}={v.text}" for k, v in call.keywords)])
                groups.setdefault(key, []).append((Location(module.path, call.line),
                                                   f"{call.callee}({written})"))
        for key, sites in sorted(groups.items()):
            if len(sites) < MIN_COPIES:
                continue
            sites.sort()
            files = sorted({loc.path for loc, _ in sites})
            where = files[0] if len(files) == 1 else f"{len(files)} files"
            text = sites[0][1]
            shown = text if len(text) <= 120 else text[:117] + "..."
            yield self.finding(
                f"The same retry policy is written out {len(sites)} times ({where}): {shown}",
                sites[0][0],
                evidence=[Evidence(loc, f"copy {index} of the policy")
                          for index, (loc, _) in enumerate(sites, start=1)],
                anchor=f"retry-policy:{key}",
                details={"copies": len(sites)},
            )
