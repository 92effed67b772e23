"""Environment variables and shell commands: words, variables, server options."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace

from prodaudit.findings import Location
from prodaudit.model.deploy_records import MAX_DEPTH, EnvBinding

# -- environment ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Env:
    """Layers of bindings, most specific first (command prefix, compose, image, .env)."""

    layers: tuple[tuple[EnvBinding, ...], ...] = ()

    def over(self, bindings: Sequence[EnvBinding]) -> _Env:
        return _Env((tuple(bindings), *self.layers)) if bindings else self

    def lookup(self, name: str, start: int = 0) -> tuple[EnvBinding, int] | None:
        for index in range(start, len(self.layers)):
            for binding in reversed(self.layers[index]):  # later lines override earlier
                if binding.name == name:
                    return binding, index
        return None


@dataclass(frozen=True)
class _Num:
    """A number found by following references; location None = where it was referenced."""

    value: int | None
    location: Location | None = None
    steps: tuple[str, ...] = ()
    problem: str = ""

    def describe(self, head: str) -> str:
        text = "; ".join([head, *self.steps] if head else self.steps)
        if self.problem:
            return f"{text}: {self.problem}" if text else self.problem
        return text


_VAR = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-=?+])(?P<default>[^}]*))?\}"
                  r"|(?P<plain>[A-Za-z_]\w*))")
_MACHINE = re.compile(r"nproc|cpu_count|NUMBER_OF_PROCESSORS|getconf")


def _number(raw: str, env: _Env, expands: bool = True, skip: tuple[str, int] = ("", 0),
            depth: int = 0) -> _Num:
    raw = raw.strip().strip("'\"")
    if raw.isdigit():
        return _Num(int(raw))
    if "$(" in raw or "`" in raw:
        why = "depends on the machine" if _MACHINE.search(raw) else "computed by the shell"
        return _Num(None, problem=why)
    match = _VAR.fullmatch(raw)
    if match is None:
        return _Num(None, problem=f"{raw!r} is not a number")
    if not expands:
        return _Num(None, problem="exec form does not expand variables")
    if depth > MAX_DEPTH:
        return _Num(None, problem="variables refer to each other too deeply")
    name = match["braced"] or match["plain"]
    op, default = match["op"] or "", match["default"] or ""
    found = env.lookup(name, skip[1] if skip[0] == name else 0)
    empty_is_unset = op.startswith(":")
    if found and not (empty_is_unset and found[0].value == ""):
        binding, layer = found
        if binding.value is None:
            return _Num(None, binding.location, (f"{name} in {binding.origin}",),
                        f"{name} has no value in the repository")
        inner = _number(binding.value, env, True, (name, layer + 1), depth + 1)
        return replace(inner, location=inner.location or binding.location,
                       steps=(f"{name}={binding.value} in {binding.origin}", *inner.steps))
    if op.lstrip(":") in ("-", "=") and default:
        inner = _number(default, env, True, (name, len(env.layers)), depth + 1)
        return replace(inner, steps=(f"default {default} of {raw}", *inner.steps))
    return _Num(None, problem=f"{name} is not set in the repository")


def _expand_text(text: str, bindings: dict[str, str]) -> str:
    """Build-time substitution (ARG/ENV in a Dockerfile): known names only."""
    def sub(match: re.Match) -> str:
        name = match["braced"] or match["plain"]
        if name in bindings:
            return bindings[name]
        return match["default"] if match["op"] and match["default"] else match[0]
    return _VAR.sub(sub, text)


def _dotenv_bindings(text: str, path: str) -> tuple[EnvBinding, ...]:
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("export "):
            line = line[7:].lstrip()
        name, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", name.strip()):
            continue
        value = value.strip()
        if value and value[0] in "'\"" and value.count(value[0]) >= 2:
            value = value[1:value.index(value[0], 1)]
        else:
            value = value.split(" #")[0].strip()
        out.append(EnvBinding(name.strip(), value, Location(path, number), path))
    return tuple(out)


# -- shell commands ------------------------------------------------------------------

@dataclass(frozen=True)
class _Origin:
    """Where a command is written and how it is run."""

    label: str  # "Dockerfile CMD", "docker-compose.yml service api command"
    location: Location
    service: str = ""
    expands: bool = True  # False for exec-form CMD: no shell expands $VARS
    context_dir: str = ""  # where relative script and config paths are looked up
    required: bool = True  # record an "unknown" server when nothing is recognised


@dataclass(frozen=True)
class _Spec:
    workers_flags: tuple[str, ...] = ()
    class_flags: tuple[str, ...] = ()
    config_flags: tuple[str, ...] = ()
    app_flags: tuple[str, ...] = ()
    env_workers: tuple[str, ...] = ()
    default_workers: int | None = 1
    default_text: str = ""


_PER_CPU = "one process per CPU (depends on the machine)"
_SPECS = {
    # uvicorn's CLI reads UVICORN_* options and its Config falls back to WEB_CONCURRENCY.
    "uvicorn": _Spec(("--workers",), env_workers=("UVICORN_WORKERS", "WEB_CONCURRENCY"),
                     default_text="uvicorn default 1"),
    "fastapi": _Spec(("--workers",), env_workers=("WEB_CONCURRENCY",),
                     default_text="fastapi default 1"),
    # gunicorn's `workers` setting defaults to $WEB_CONCURRENCY, else 1.
    "gunicorn": _Spec(("-w", "--workers"), ("-k", "--worker-class"), ("-c", "--config"),
                      env_workers=("WEB_CONCURRENCY",), default_text="gunicorn default 1"),
    "hypercorn": _Spec(("-w", "--workers"), ("-k", "--worker-class"), ("-c", "--config"),
                       default_text="hypercorn default 1"),
    "granian": _Spec(("--workers",), ("--interface",), env_workers=("GRANIAN_WORKERS",),
                     default_text="granian default 1"),
    "daphne": _Spec(default_text="daphne runs one process"),
    "celery": _Spec(("-c", "--concurrency"), ("-P", "--pool"), app_flags=("-A", "--app"),
                    default_workers=None, default_text=f"celery default: {_PER_CPU}"),
    "arq": _Spec(default_text="arq runs one process"),
    "dramatiq": _Spec(("-p", "--processes"), default_workers=None,
                      default_text=f"dramatiq default: {_PER_CPU}"),
}
# Options that take a value, so the value is not mistaken for the app argument.
_VALUED = frozenset({
    "--host", "--port", "-b", "--bind", "--uds", "--fd", "--log-level", "--log-config",
    "--root-path", "--env-file", "--app-dir", "--timeout", "-t", "--graceful-timeout",
    "--keep-alive", "--max-requests", "--max-requests-jitter", "--threads", "--chdir",
    "--access-logfile", "--error-logfile", "--log-file", "--loop", "--http", "--ws",
    "--lifespan", "--limit-concurrency", "--backlog", "--timeout-keep-alive", "-n", "--name",
    "--forwarded-allow-ips", "--worker-connections", "--pythonpath", "-u", "--user", "-g",
    "--group", "-l", "--loglevel", "-Q", "--queues", "--hostname", "--pidfile", "-e", "--env",
    "--reload-dir", "--reload-include", "--reload-exclude", "--worker-tmp-dir", "--app",
    *(flag for spec in _SPECS.values()
      for flag in (*spec.workers_flags, *spec.class_flags, *spec.config_flags,
                   *spec.app_flags)),
})
_WRAPPERS = frozenset({
    "exec", "env", "nohup", "time", "dumb-init", "tini", "tini-static", "gosu", "su-exec",
    "setpriv", "chpst", "poetry", "uv", "pipenv", "pdm", "rye", "hatch", "conda",
    "micromamba", "opentelemetry-instrument", "ddtrace-run", "newrelic-admin", "doppler",
    "infisical", "watchmedo", "dockerize", "wait-for-it", "wait-for-it.sh", "wait-for",
})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh"})
_SKIP_WORDS = frozenset({"if", "while", "until", "elif", "for", "case", "[", "[[", "test",
                         "fi", "done", "esac", "function", "}", "trap", "set", "echo"})
_PYTHON = re.compile(r"python(\d(\.\d+)?)?")
_APP_REF = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(\(.*\))?")
_ASSIGNMENT = re.compile(r"([A-Za-z_]\w*)=(.*)", re.DOTALL)


def _words(text: str) -> list[str] | None:
    lexer = shlex.shlex(text, posix=True, punctuation_chars="&;|")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes
        return None


def _segments(words: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for word in words:
        if word and set(word) <= set("&;|"):
            out.append([])
        else:
            out[-1].append(word)
    return [segment for segment in out if segment]


def _logical_lines(text: str, escape: str = "\\") -> list[tuple[int, str]]:
    """Join continuation lines; skip blank and comment lines (also inside a continuation)."""
    out: list[tuple[int, str]] = []
    pending, start, heredoc = "", 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        if heredoc:
            heredoc = "" if line.strip() == heredoc else heredoc
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not pending:
            start = number
        stripped = line.rstrip()
        if stripped.endswith(escape):
            pending += stripped[:-1] + " "
            continue
        full = pending + line.strip()
        pending = ""
        out.append((start, full))
        marker = re.search(r"<<-?\s*['\"]?(\w+)", full)
        heredoc = marker[1] if marker and not full.lstrip().startswith("#") else ""
    if pending:
        out.append((start, pending.strip()))
    return out


def _options(args: Sequence[str], valued: frozenset[str]) -> tuple[dict[str, str], list[str],
                                                                      set[str]]:
    values: dict[str, str] = {}
    positional: list[str] = []
    flags: set[str] = set()
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word.startswith("--") and "=" in word:
            name, _, value = word.partition("=")
            values[name] = value
        elif word in valued:
            values[word] = args[index] if index < len(args) else ""
            index += 1
        elif word[:1] == "-" and word[1:2] != "-" and len(word) > 2 and word[:2] in valued:
            values[word[:2]] = word[2:]  # -w4
        elif word.startswith("-"):
            flags.add(word)
        else:
            positional.append(word)
    return values, positional, flags
