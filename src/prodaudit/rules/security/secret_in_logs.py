from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Finding, Severity
from prodaudit.model.values import dotted_name
from prodaudit.rules.base import FileRule, RuleMeta, register
from prodaudit.rules.security.names import is_secret_name, words

LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal",
                         "log", "msg"})
LOGGER_NAME = re.compile(r"^(log|logger|_log|_logger|logging|LOG|LOGGER|structlog|self\.log|self\.logger|"
                         r"self\._log|self\._logger|cls\.logger|\w*_logger|\w*_log|logger\.\w+)$")
# Calls that turn a secret into something safe to log.
SAFE_CALLS = re.compile(r"(mask|redact|hide|obfuscat|truncat|censor|sanitiz|shorten|preview|^len$|^bool$|"
                        r"^type$|^id$|^hash$|sha\d*|md5|digest|fingerprint|^isinstance$|startswith|endswith|"
                        r"count$|^repr_safe$)", re.IGNORECASE)


def logged_names(node: ast.AST, safe: bool = False) -> Iterator[tuple[str, ast.AST]]:
    """Names whose values end up in the log line, with the node that reads them. Slices
    (`token[:6]`), lengths and masking helpers are not the secret."""
    if isinstance(node, ast.Name):
        yield node.id, node
    elif isinstance(node, ast.Attribute):
        yield node.attr, node
    elif isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Slice):
            return  # a prefix or suffix of the value
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield key.value, node
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                yield from logged_names(part.value)
    elif isinstance(node, ast.FormattedValue):
        yield from logged_names(node.value)
    elif isinstance(node, ast.BinOp):
        yield from logged_names(node.left)
        yield from logged_names(node.right)
    elif isinstance(node, (ast.Tuple, ast.List)):
        for item in node.elts:
            yield from logged_names(item)
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values):
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and is_secret_name(key.value) and \
                    not isinstance(value, ast.Constant):
                yield key.value, value
            else:
                yield from logged_names(value)
    elif isinstance(node, ast.Call):
        name = dotted_name(node.func) or (node.func.attr if isinstance(node.func, ast.Attribute) else "")
        tail = name.rsplit(".", 1)[-1]
        if SAFE_CALLS.search(tail):
            return
        if tail in ("str", "repr", "format", "dumps", "dict", "json", "model_dump", "decode", "encode"):
            if isinstance(node.func, ast.Attribute) and tail in ("format", "decode", "encode", "model_dump", "json"):
                yield from logged_names(node.func.value)
            for arg in node.args:
                yield from logged_names(arg)
        elif tail == "get" and node.args and isinstance(node.args[0], ast.Constant) and \
                isinstance(node.args[0].value, str):
            yield node.args[0].value, node


@register
class SecretInLogs(FileRule):
    """
    ## What it does
    Finds logging calls that write a secret: a variable, attribute or dict key named like
    a token, password, API key or secret, interpolated into the message or passed as an
    argument. Logging an exception object, a length, a masked value or a slice
    (`token[:6]`) is not reported.

    ## Why is this bad?
    Logs are copied to aggregators, shared in tickets and kept for months, by people and
    systems that should never hold credentials. A token in a log line is a token anyone
    with log access can use.

    ## Example
    ```python
    import logging

    log = logging.getLogger(__name__)

    def login_succeeded(user_id: int, access_token: str) -> None:
        log.info(f"user {user_id} logged in with token {access_token}")
    ```

    ## Use instead
    ```python
    import logging

    log = logging.getLogger(__name__)

    def login_succeeded(user_id: int, access_token: str) -> None:
        log.info("user %s logged in (token ...%s)", user_id, access_token[-4:])
    ```

    ## Known limitations
    Secrets are recognised by name, so a secret in a variable called `value` is missed.
    Whole objects that contain a secret (`log.info(user)`) are not followed into their
    `__repr__`.
    """

    meta = RuleMeta(
        id="PA412", slug="secret-in-logs", family="security", dimension=Dimension.SECURITY,
        severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="token, password or key written to the logs",
        effort_minutes=5, cwe=(532,), owasp=("A09:2021",),
        fix="Log an identifier or a masked suffix (token[-4:]) instead of the secret.",
    )

    def check_module(self, module) -> Iterator[Finding]:
        for call in module.nodes(ast.Call):
            func = call.func
            if not isinstance(func, ast.Attribute) or func.attr not in LOG_METHODS:
                continue
            receiver = dotted_name(func.value) or ""
            if not LOGGER_NAME.match(receiver) and not module.resolve(func.value).startswith(("logging", "structlog", "loguru")):
                continue
            exception_names = self.exception_names(module, call)
            reported = set()
            values = list(call.args[1:] if func.attr == "log" else call.args)
            values += [k.value for k in call.keywords if k.arg not in ("exc_info", "stack_info", "stacklevel")]
            for value in values:
                for name, node in logged_names(value):
                    if name in exception_names or name in reported or not is_secret_name(name):
                        continue
                    reported.add(name)
                    fn = module.enclosing_function(call)
                    scope = module.scope_name(fn) if fn is not None else ""
                    yield self.finding(
                        f"`{name}` is written to the logs by {receiver}.{func.attr}(): anyone who can read "
                        f"the logs gets the secret",
                        module.location(call), anchor=f"{module.module}:{scope}:{name}",
                        severity=Severity.HIGH if set(words(name)) & {"password", "passwd", "private"}
                        else Severity.MEDIUM)

    @staticmethod
    def exception_names(module, node: ast.AST) -> set[str]:
        """Names bound by the except clauses around the call (`except JWTError as token_error`)."""
        names = set()
        current = module.parent(node)
        while current is not None:
            if isinstance(current, ast.ExceptHandler) and current.name:
                names.add(current.name)
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
                break
            current = module.parent(current)
        return names
