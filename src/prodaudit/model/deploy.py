"""Deployment facts: which server runs the app, with how many workers, next to what services.

Everything is read as text (YAML nodes, TOML, JSON, shell words, Python syntax trees); no
audited file is imported or executed. Numbers are only reported when they are written in
the repository: a worker count that comes from an unset variable or from the machine's
CPU count is None, and `workers_source` says which variable or expression decided it.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
import shlex
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from prodaudit.findings import Location
from prodaudit.model.textfiles import read_project_text

WEB_SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian", "fastapi", "daphne"})
TASK_SERVERS = frozenset({"celery", "arq", "dramatiq"})
MAX_FILE_BYTES = 1_000_000
MAX_COMMAND_TEXT = 300
MAX_DEPTH = 6  # scripts calling scripts, variables naming variables


@dataclass(frozen=True)
class EnvBinding:
    """One environment variable as written somewhere; value None = declared without one."""

    name: str
    value: str | None
    location: Location
    origin: str  # "docker-compose.yml", "Dockerfile ENV", ".env"


@dataclass(frozen=True)
class ServerProcess:
    server: str
    app: str
    workers: int | None
    workers_location: Location | None
    workers_source: str
    worker_class: str
    command: str
    location: Location
    service: str = ""
    replicas: int | None = None
    replicas_location: Location | None = None
    reload: bool = False

    @property
    def is_web(self) -> bool:
        return self.server in WEB_SERVERS


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    build: bool
    kind: str  # postgres, mysql, redis, rabbitmq, mongo, nginx, app, worker, other
    healthcheck: bool
    ports: tuple[str, ...]
    volumes: tuple[str, ...]
    depends_on: tuple[str, ...]
    location: Location
    max_connections: int | None = None
    max_connections_location: Location | None = None
    user: str = ""
    restart: str = ""
    replicas: int | None = None
    replicas_location: Location | None = None


@dataclass(frozen=True)
class BaseImage:
    image: str
    location: Location
    # True: digest or a tag other than "latest"; None: the tag is an unresolved ARG.
    pinned: bool | None


@dataclass(frozen=True)
class DockerfileFacts:
    path: str
    # External images only: `FROM builder` of an earlier stage is not a base image.
    base_images: tuple[BaseImage, ...]
    final_user: str | None
    final_user_location: Location | None
    has_healthcheck: bool
    exposes: tuple[int, ...]
    stages: int

    @property
    def pinned_base(self) -> bool:
        return all(image.pinned for image in self.base_images)


@dataclass(frozen=True)
class K8sWorkload:
    name: str
    kind: str  # Deployment, StatefulSet
    images: tuple[str, ...]
    replicas: int | None
    replicas_location: Location | None
    location: Location
    # From a HorizontalPodAutoscaler targeting this workload, when one is in the repo.
    max_replicas: int | None = None
    max_replicas_location: Location | None = None


@dataclass(frozen=True)
class Deployment:
    servers: tuple[ServerProcess, ...] = ()
    services: tuple[Service, ...] = ()
    dockerfiles: tuple[DockerfileFacts, ...] = ()
    k8s: tuple[K8sWorkload, ...] = ()
    notes: tuple[str, ...] = ()

    def web_servers(self) -> tuple[ServerProcess, ...]:
        return tuple(server for server in self.servers if server.is_web)

    def max_workers(self) -> tuple[int | None, ServerProcess | None]:
        """Largest workers x replicas among web servers whose count is known.

        When no web server has a known count, returns (None, the first web server) so the
        caller can quote its workers_source; (None, None) when there is no web server.
        """
        web = self.web_servers()
        known = [(s.workers * (s.replicas or 1), s) for s in web if s.workers is not None]
        if known:
            return max(known, key=lambda pair: pair[0])
        return None, (web[0] if web else None)

    def database_service(self) -> Service | None:
        for kind in ("postgres", "mysql", "mongo"):
            for service in self.services:
                if service.kind == kind:
                    return service
        return None

    def has_service(self, kind: str) -> bool:
        return any(service.kind == kind for service in self.services)


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


# -- the reader ----------------------------------------------------------------------

class _Reader:
    """Reads files once, remembers notes, and turns commands into ServerProcess records."""

    def __init__(self, root: Path, files: Sequence[str]):
        self.root = root
        self.files = tuple(dict.fromkeys(files))
        self.file_set = frozenset(self.files)
        self.notes: list[str] = []
        self.scripts_read: set[str] = set()
        self._texts: dict[str, str | None] = {}

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def _read(self, path: str) -> str | None:
        text, problem = read_project_text(self.root, path, MAX_FILE_BYTES)
        if problem:
            self.note(problem)
        return text

    def find(self, reference: str, context_dir: str) -> str | None:
        """The repo file a container path most likely is: try ever shorter tails of it."""
        if not reference or "$" in reference:
            return None
        if reference.startswith("python:"):  # gunicorn -c python:pkg.conf
            reference = reference[7:].replace(".", "/") + ".py"
        parts = [part for part in reference.split("/") if part not in ("", ".")]
        for start in range(len(parts)):
            tail = "/".join(parts[start:])
            for base in dict.fromkeys((context_dir, "")):
                candidate = posixpath.normpath(posixpath.join(base, tail))
                if candidate in self.file_set:
                    return candidate
        return None

    def dotenv(self, directory: str) -> _Env:
        """.env files near `directory`, then at the root; examples after real ones."""
        layers = []
        for names in ((".env", ".env.production", ".env.prod"),
                      (".env.example", ".env.sample", ".env.template", ".env.dist")):
            for base in dict.fromkeys((directory, "")):
                for name in names:
                    path = posixpath.join(base, name) if base else name
                    text = self.text(path) if path in self.file_set else None
                    if text is not None:
                        layers.append(_dotenv_bindings(text, path))
        return _Env(tuple(layers))

    # -- commands --------------------------------------------------------------------
    def servers(self, command: str | Sequence[str], origin: _Origin, env: _Env
                ) -> list[ServerProcess]:
        if isinstance(command, str):
            found = self.shell_text(command, origin, env, per_line_path="")
            text = command
        else:
            found = self.simple(list(command), origin, env, (), 0)
            text = " ".join(command)
        if any(server.server not in ("python", "unknown") for server in found):
            # `python manage.py migrate && gunicorn ...`: the python step is set-up work
            found = [server for server in found if server.server != "python"]
        if not found and origin.required and text.strip():
            found = [ServerProcess("unknown", "", None, None, "server not recognised", "",
                                   text[:MAX_COMMAND_TEXT], origin.location, origin.service)]
        return found

    def shell_text(self, text: str, origin: _Origin, env: _Env, per_line_path: str,
                   argv: Sequence[str] = (), depth: int = 0, argv_origin: _Origin | None = None
                   ) -> list[ServerProcess]:
        """A shell program: assignments feed later lines, every command is looked at."""
        found: list[ServerProcess] = []
        for line_number, line in _logical_lines(text):
            words = _words(line)
            if words is None:
                self.note(f"{origin.location.path}: unbalanced quotes in {line[:60]!r}")
                words = line.split()
            here = (replace(origin, location=Location(per_line_path, line_number),
                            label=per_line_path, expands=True)
                    if per_line_path else origin)
            for segment in _segments(words):
                while segment and segment[0] in ("then", "else", "do", "{", "(", "!"):
                    segment = segment[1:]
                if segment and segment[0] == "export":
                    segment = segment[1:]
                prefix = [w for w in segment if _ASSIGNMENT.fullmatch(w)]
                if len(prefix) == len(segment):
                    env = env.over(self._bindings(prefix, here.location, here.label))
                elif segment:
                    found.extend(self.simple(segment, here, env, argv, depth, argv_origin))
        return found

    @staticmethod
    def _bindings(words: Sequence[str], location: Location, origin: str) -> list[EnvBinding]:
        out = []
        for word in words:
            match = _ASSIGNMENT.fullmatch(word)
            if match:
                out.append(EnvBinding(match[1], match[2], location, origin))
        return out

    def simple(self, words: list[str], origin: _Origin, env: _Env, argv: Sequence[str],
               depth: int, argv_origin: _Origin | None = None) -> list[ServerProcess]:
        """One simple command (no && or ;), after peeling wrappers like exec or tini."""
        if depth > MAX_DEPTH:
            return []
        if argv and argv_origin and [w for w in words if w not in _WRAPPERS] in (["$@"],
                                                                                  ["${@}"]):
            # `exec "$@"` in an entrypoint script: the words are written by the caller
            return self.simple(list(argv), argv_origin, env, (), depth + 1)
        words = [expanded for word in words
                 for expanded in (argv if word in ("$@", "${@}", "$*") else (word,))]
        while words:
            assignments = []
            while words and _ASSIGNMENT.fullmatch(words[0]):
                assignments.append(words.pop(0))
            env = env.over(self._bindings(assignments, origin.location, origin.label))
            if not words or posixpath.basename(words[0]) not in _WRAPPERS:
                break
            rest = words[1:]
            # Skip the wrapper's own options: resume at the first word that is a program
            # we know, else at the first word that is not an option.
            known = [i for i, w in enumerate(rest) if self._is_program(w)]
            plain = [i for i, w in enumerate(rest) if not w.startswith("-")
                     and not _ASSIGNMENT.fullmatch(w) and w not in ("run", "run-program")]
            cut = known[0] if known else (plain[0] if plain else len(rest))
            words = [w for w in rest[:cut] if _ASSIGNMENT.fullmatch(w)] + rest[cut:]
        if not words or words[0] in _SKIP_WORDS:
            return []
        program = posixpath.basename(words[0])
        args = words[1:]
        if program in _SHELLS:
            if "-c" in args and args.index("-c") + 1 < len(args):
                body = args[args.index("-c") + 1]
                return self.shell_text(body, replace(origin, expands=True), env, "",
                                       args[args.index("-c") + 2:], depth + 1, origin)
            scripts = [w for w in args if not w.startswith("-")]
            if not scripts:
                return []
            return self.script(scripts[0], scripts[1:], origin, env, depth)
        if _PYTHON.fullmatch(program):
            return self.python(args, origin, env, " ".join(words), depth)
        if program in _SPECS:
            return [self.server(program, args, origin, env, " ".join(words))]
        if program.endswith(".sh") or self.find(words[0], origin.context_dir):
            return self.script(words[0], args, origin, env, depth)
        return []

    def _is_program(self, word: str) -> bool:
        name = posixpath.basename(word)
        return (name in _SPECS or name in _SHELLS or bool(_PYTHON.fullmatch(name))
                or name.endswith(".sh"))

    def script(self, reference: str, argv: Sequence[str], origin: _Origin, env: _Env,
               depth: int) -> list[ServerProcess]:
        path = self.find(reference, origin.context_dir)
        text = self.text(path) if path else None
        if text is None:
            if path is None:
                self.note(f"{origin.location.path}: script {reference} is not in the "
                          "repository; its command is unknown")
            # An entrypoint script usually ends with `exec "$@"`: the CMD still runs.
            return self.simple(list(argv), origin, env, (), depth + 1) if argv else []
        self.scripts_read.add(path)
        if path.endswith(".py"):
            return self.python_script(path, origin, env, " ".join([reference, *argv]))
        return self.shell_text(text, origin, env, path, argv, depth + 1, origin)

    def python(self, args: list[str], origin: _Origin, env: _Env, text: str, depth: int
               ) -> list[ServerProcess]:
        index = 0
        while index < len(args) and args[index].startswith("-") and args[index] != "-m":
            if args[index] == "-c":
                return []
            index += 2 if args[index] in ("-X", "-W") else 1
        if index < len(args) and args[index] == "-m" and index + 1 < len(args):
            module, rest = args[index + 1], args[index + 2:]
            if module in _SPECS:
                return [self.server(module, rest, origin, env, text)]
            if module.split(".")[0] in _SPECS:  # python -m celery.bin.celery ...
                return [self.server(module.split(".")[0], rest, origin, env, text)]
            return [ServerProcess("python", module, None, None,
                                  f"python -m {module}: the server is started in code",
                                  "", text[:MAX_COMMAND_TEXT], origin.location, origin.service)]
        if index < len(args):
            path = self.find(args[index], origin.context_dir)
            if path and path.endswith(".py"):
                return self.python_script(path, origin, env, text)
            return [ServerProcess("python", args[index], None, None,
                                  f"python {args[index]}: script not found in the repository",
                                  "", text[:MAX_COMMAND_TEXT], origin.location, origin.service)]
        return []

    def python_script(self, path: str, origin: _Origin, env: _Env, text: str
                      ) -> list[ServerProcess]:
        """`python main.py`: look for uvicorn.run(...) in the script's syntax tree."""
        self.scripts_read.add(path)
        source = self.text(path)
        tree = _parse_python(source, path, self) if source is not None else None
        command = text[:MAX_COMMAND_TEXT]
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("uvicorn.run", "run") \
                    and (ast.unparse(node.func) == "uvicorn.run" or _imports_from(
                        tree, "uvicorn", "run")):
                keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
                app = node.args[0] if node.args else keywords.get("app")
                app_text = (app.value if isinstance(app, ast.Constant) else
                            ast.unparse(app) if app is not None else "")
                reload = isinstance(keywords.get("reload"), ast.Constant) and bool(
                    keywords["reload"].value)
                here = Location(path, node.lineno)
                if reload:
                    num, head = _Num(1, here), "reload=True: uvicorn runs one process"
                elif "workers" in keywords:
                    expr = keywords["workers"]
                    num = _eval_int(expr, _assignments(tree), env, path)
                    head = f"workers={ast.unparse(expr)} in {path}"
                    num = replace(num, location=num.location or here)
                else:
                    num, head = self.env_workers(_SPECS["uvicorn"], env), ""
                    if num is None:
                        num, head = _Num(1), "uvicorn default 1"
                return [ServerProcess("uvicorn", str(app_text), num.value,
                                      num.location or here, num.describe(head), "", command,
                                      here, origin.service, reload=reload)]
        return [ServerProcess("python", path, None, None,
                              f"python {path}: no uvicorn.run() call found in it", "",
                              command, origin.location, origin.service)]

    def env_workers(self, spec: _Spec, env: _Env) -> _Num | None:
        for name in spec.env_workers:
            if env.lookup(name):
                return _number("${" + name + "}", env)
        return None

    def server(self, program: str, args: list[str], origin: _Origin, env: _Env, text: str
               ) -> ServerProcess:
        spec = _SPECS[program]
        values, positional, flags = _options(args, _VALUED)
        conf = self.gunicorn_conf(_pick(values, spec.config_flags), origin, env) \
            if program == "gunicorn" else None
        worker_class = (_pick(values, spec.class_flags) or ("", ""))[1] or (
            conf.worker_class if conf else "")
        apps = [word for word in positional if _APP_REF.fullmatch(word)]
        if program == "fastapi":
            apps = [word for word in positional if word not in ("run", "dev")]
        elif program in ("arq", "dramatiq") and not apps:
            apps = positional[:1]
        elif program == "gunicorn" and not apps:  # `gunicorn proj.wsgi` = proj.wsgi:application
            apps = [word for word in positional if re.fullmatch(r"[A-Za-z_][\w.]*", word)][:1]
        app_flag = _pick(values, spec.app_flags)
        app = app_flag[1] if app_flag else (apps[0] if apps else (conf.app if conf else ""))
        reload = ("--reload" in flags or (program == "fastapi" and positional[:1] == ["dev"])
                  or bool(conf and conf.reload))
        num, head, in_command = None, "", False
        if flag := _pick(values, spec.workers_flags):
            num, head, in_command = (_number(flag[1], env, origin.expands),
                                     f"{flag[0]} {flag[1]} in {origin.label}", True)
        elif program == "gunicorn" and (found := env.lookup("GUNICORN_CMD_ARGS")):
            binding = found[0]
            inner = _pick(_options(_words(binding.value or "") or [], _VALUED)[0],
                          spec.workers_flags)
            if inner:
                num = _number(inner[1], env)
                num = replace(num, location=num.location or binding.location)
                head = f"GUNICORN_CMD_ARGS={binding.value} in {binding.origin}"
        if num is None and conf and conf.workers is not None:
            num, head = conf.workers, conf.workers_text
        if num is None and program == "hypercorn" and (config := _pick(values,
                                                                        spec.config_flags)):
            num, head = self.hypercorn_workers(config[1], origin)
        if num is None and (num := self.env_workers(spec, env)) is None:
            num, head = _Num(spec.default_workers), spec.default_text
        if program == "celery" and "beat" in positional and "worker" not in positional:
            num, head, in_command = _Num(1), "celery beat runs one process", True
        if reload and program in ("uvicorn", "fastapi"):
            # uvicorn's reloader supervises a single server process whatever --workers says
            num, head, in_command = _Num(1), f"--reload: {program} runs one process", True
        # A built-in default is written nowhere; a flag is written in the command itself.
        location = num.location or (origin.location if in_command else None)
        return ServerProcess(program, app, num.value, location, num.describe(head),
                             worker_class, text[:MAX_COMMAND_TEXT], origin.location,
                             origin.service, reload=reload)

    def hypercorn_workers(self, reference: str, origin: _Origin) -> tuple[_Num, str]:
        """hypercorn -c file.toml: its `workers = N`, or 1 when the file does not set it."""
        path = self.find(reference, origin.context_dir)
        text = self.text(path) if path and path.endswith(".toml") else None
        if text is None:
            return _Num(None, problem=f"hypercorn config {reference} is not read"), ""
        match = re.search(r"^\s*workers\s*=\s*(\d+)", text, re.MULTILINE)
        if match is None:
            return _Num(1), f"hypercorn default 1 ({path} does not set workers)"
        line = text[:match.start(1)].count("\n") + 1
        return _Num(int(match[1]), Location(path, line)), f"workers = {match[1]} in {path}"

    def gunicorn_conf(self, flag: tuple[str, str] | None, origin: _Origin, env: _Env
                      ) -> _GunicornConf | None:
        if flag:
            path = self.find(flag[1], origin.context_dir)
            if path is None:
                self.note(f"{origin.location.path}: gunicorn config {flag[1]} is not in the "
                          "repository")
                return None
        else:  # gunicorn loads ./gunicorn.conf.py from its working directory by default
            path = self.find("gunicorn.conf.py", origin.context_dir)
            if path and posixpath.dirname(path) not in (origin.context_dir, ""):
                path = None
        source = self.text(path) if path else None
        tree = _parse_python(source, path, self) if source is not None and path else None
        if tree is None or path is None:
            return None
        assigned = _assignments(tree)

        def literal(name: str) -> str:
            node = assigned.get(name)
            return str(node.value) if isinstance(node, ast.Constant) else ""

        workers, text = None, ""
        if "workers" in assigned:
            expr = assigned["workers"]
            workers = _eval_int(expr, assigned, env, path)
            workers = replace(workers, location=workers.location or Location(path, expr.lineno))
            text = f"workers = {ast.unparse(expr)} in {path}"
        return _GunicornConf(path, workers, text, literal("worker_class"),
                             literal("wsgi_app"), literal("reload") == "True")


def _pick(values: dict[str, str], names: Sequence[str]) -> tuple[str, str] | None:
    """(flag, value) for the first of these spellings that the command uses."""
    return next(((name, values[name]) for name in names if name in values), None)


@dataclass(frozen=True)
class _GunicornConf:
    path: str
    workers: _Num | None
    workers_text: str
    worker_class: str
    app: str
    reload: bool


def _parse_python(source: str | None, path: str, reader: _Reader) -> ast.Module | None:
    if source is None:
        return None
    try:
        return ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:
        reader.note(f"{path}: not valid Python ({exc}); not read")
        return None


def _assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level `name = expr`, last one wins (what gunicorn would see at import end)."""
    out: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None:
            out[node.target.id] = node.value
    return out


def _imports_from(tree: ast.Module, module: str, name: str) -> bool:
    return any(isinstance(node, ast.ImportFrom) and node.module == module
               and any(alias.name == name for alias in node.names) for node in tree.body)


_ENV_GETTERS = {"os.getenv", "getenv", "os.environ.get", "environ.get"}
_CPU = {"multiprocessing.cpu_count", "os.cpu_count", "cpu_count", "os.sched_getaffinity",
        "psutil.cpu_count"}


def _eval_int(node: ast.expr, assigned: dict[str, ast.expr], env: _Env, path: str,
              depth: int = 0) -> _Num:
    """A worker count expression in a config file, as far as it is written down."""
    here = Location(path, getattr(node, "lineno", 0))
    if depth > MAX_DEPTH:
        return _Num(None, problem="too deeply nested")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)) \
            and not isinstance(node.value, bool):
        if str(node.value).strip().isdigit():
            return _Num(int(str(node.value).strip()), here)
        return _Num(None, problem=f"{node.value!r} is not a number")
    if isinstance(node, ast.Name) and node.id in assigned:
        return _eval_int(assigned[node.id], assigned, env, path, depth + 1)
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) in ("os.environ", "environ"):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return _number("${" + key.value + "}", env)
    if isinstance(node, ast.Call):
        name = ast.unparse(node.func)
        if name in _CPU or (name == "len" and node.args and "sched_getaffinity" in
                            ast.unparse(node.args[0])):
            return _Num(None, problem="depends on the machine")
        if name in ("int", "float", "round") and node.args:
            return _eval_int(node.args[0], assigned, env, path, depth + 1)
        if name in _ENV_GETTERS and node.args and isinstance(node.args[0], ast.Constant):
            variable = str(node.args[0].value)
            if env.lookup(variable) or len(node.args) < 2:
                return _number("${" + variable + "}", env)
            inner = _eval_int(node.args[1], assigned, env, path, depth + 1)
            return replace(inner, steps=((f"{variable} unset, default "
                                         f"{ast.unparse(node.args[1])}"), *inner.steps))
        if name in ("max", "min") and node.args:
            parts = [_eval_int(arg, assigned, env, path, depth + 1) for arg in node.args]
            missing = next((part for part in parts if part.value is None), None)
            if missing:
                return missing
            chosen = (max if name == "max" else min)(parts, key=lambda part: part.value)
            return chosen
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                            ast.FloorDiv)):
        left = _eval_int(node.left, assigned, env, path, depth + 1)
        right = _eval_int(node.right, assigned, env, path, depth + 1)
        for part in (left, right):
            if part.value is None:
                return part
        ops = {ast.Add: int.__add__, ast.Sub: int.__sub__, ast.Mult: int.__mul__,
               ast.FloorDiv: lambda a, b: a // b if b else 0}
        value = ops[type(node.op)](left.value, right.value)
        return _Num(value, here, left.steps + right.steps)
    return _Num(None, problem=f"{ast.unparse(node)} is not a literal")


# -- YAML with line numbers ------------------------------------------------------------

def _yaml_documents(reader: _Reader, path: str) -> list[yaml.Node]:
    text = reader.text(path)
    if text is None:
        return []
    try:
        return [doc for doc in yaml.compose_all(text, Loader=yaml.SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
        reader.note(f"{path}: not valid YAML{where} ({problem}); not read")
    except RecursionError:
        reader.note(f"{path}: YAML nested too deeply; not read")
    return []


def _map(node: yaml.Node | None, depth: int = 0) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Mapping key -> (key node, value node), with `<<: *anchor` merge keys applied."""
    if not isinstance(node, yaml.MappingNode) or depth > MAX_DEPTH:
        return {}
    merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    own: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in reversed(sources):  # earlier sources win in a merge sequence
                merged.update(_map(source, depth + 1))
        elif isinstance(key, yaml.ScalarNode):
            own[key.value] = (key, value)
    return {**merged, **own}


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":null"):
        return node.value
    return None


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().isdigit() else None


def _command_value(node: yaml.Node | None) -> str | list[str] | None:
    if isinstance(node, yaml.SequenceNode):
        return [_scalar(item) or "" for item in node.value]
    return _scalar(node)


def _yaml_env(path: str, node: yaml.Node | None, origin: str) -> list[EnvBinding]:
    """compose `environment:` / k8s `env:` / render `envVars:`, mapping or list form."""
    out = []
    for name, (key, value) in _map(node).items():
        out.append(EnvBinding(name, _scalar(value), Location(path, _line(key)), origin))
    for item in _items(node):
        fields = _map(item)
        if fields:  # k8s {name, value|valueFrom} or render {key, value|fromDatabase}
            name = _scalar((fields.get("name") or fields.get("key") or (None, None))[1])
            value_node = (fields.get("value") or (None, None))[1]
            if name:
                out.append(EnvBinding(name, _scalar(value_node), Location(
                    path, _line(value_node if value_node is not None else item)), origin))
        elif (text := _scalar(item)) is not None:
            name, sep, value = text.partition("=")
            out.append(EnvBinding(name.strip(), value if sep else None,
                                  Location(path, _line(item)), origin))
    return out


# -- Dockerfiles -------------------------------------------------------------------------

@dataclass
class _Stage:
    """Mutable while one Dockerfile is read; frozen into DockerfileFacts at the end."""

    base: str
    env: list[EnvBinding] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    user: tuple[str, Location] | None = None
    healthcheck: bool = False
    cmd: tuple[str | list[str], Location] | None = None
    entrypoint: tuple[str | list[str], Location] | None = None
    cmd_inherited: bool = False
    exposes: list[int] = field(default_factory=list)
    workdir: str = "/"

    def child(self) -> _Stage:
        return replace(self, env=list(self.env), args=dict(self.args),
                       exposes=list(self.exposes), cmd_inherited=True)


@dataclass(frozen=True)
class _Image:
    facts: DockerfileFacts
    command: str | tuple[str, ...] | None
    origin: _Origin | None
    env: tuple[EnvBinding, ...]
    base: str  # the external image the final stage starts from


def _exec_form(text: str) -> list[str] | None:
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:  # Docker runs an invalid JSON array as shell form
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return None


def _pinned(image: str) -> bool | None:
    if "$" in image:
        return None
    if "@" in image or image.lower() == "scratch":
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and name.rsplit(":", 1)[1].lower() != "latest"


def _read_dockerfile(reader: _Reader, path: str) -> _Image | None:
    text = reader.text(path)
    if text is None:
        return None
    directive = re.match(r"\s*#\s*escape\s*=\s*([\\`])", text)
    global_args: dict[str, str] = {}
    stages: list[_Stage] = []
    aliases: dict[str, _Stage] = {}
    bases: list[BaseImage] = []
    for number, line in _logical_lines(text, directive[1] if directive else "\\"):
        instruction, _, rest = line.partition(" ")
        instruction, rest, here = instruction.upper(), rest.strip(), Location(path, number)
        stage = stages[-1] if stages else None
        known = {**global_args, **(stage.args if stage else {}),
                 **{b.name: b.value or "" for b in (stage.env if stage else ())}}
        if instruction == "FROM":
            words = [word for word in rest.split() if not word.startswith("--")]
            image = _expand_text(words[0], global_args) if words else ""
            parent = aliases.get(image.lower())
            stages.append(parent.child() if parent else _Stage(base=image))
            if parent is None:
                bases.append(BaseImage(image, here, _pinned(image)))
            if len(words) >= 3 and words[1].lower() == "as":
                aliases[words[2].lower()] = stages[-1]
        elif instruction == "ARG":
            for word in rest.split():
                name, sep, value = word.partition("=")
                target = stage.args if stage else global_args
                if sep or name in global_args:  # a bare ARG has no value to substitute
                    target[name] = value if sep else global_args[name]
        elif stage is None:
            continue
        elif instruction == "ENV":
            try:
                words = shlex.split(rest)
            except ValueError:
                words = rest.split()
            pairs = ([word.partition("=")[::2] for word in words if "=" in word]
                     if words and "=" in words[0] else [(words[0], rest[len(words[0]):].strip())]
                     if words else [])
            for name, value in pairs:
                value = _expand_text(value, known)
                known[name] = value
                stage.env.append(EnvBinding(name, value, here, f"{path} ENV"))
        elif instruction == "USER" and rest:
            stage.user = (_expand_text(rest.split()[0], known), here)
        elif instruction == "HEALTHCHECK":
            stage.healthcheck = rest.split()[:1] != ["NONE"]
        elif instruction == "EXPOSE":
            ports = (_expand_text(word, known).split("/")[0] for word in rest.split())
            stage.exposes.extend(int(port) for port in ports if port.isdigit())
        elif instruction == "WORKDIR" and rest:
            stage.workdir = posixpath.join(stage.workdir, _expand_text(rest, known))
        elif instruction in ("CMD", "ENTRYPOINT"):
            value: str | list[str] = _exec_form(rest) or rest
            if instruction == "CMD":
                stage.cmd, stage.cmd_inherited = (value, here), False
            else:
                stage.entrypoint = (value, here)
                if stage.cmd_inherited:  # a new ENTRYPOINT drops an inherited CMD
                    stage.cmd = None
    if not stages:
        reader.note(f"{path}: no FROM instruction; not a Dockerfile?")
        return None
    final = stages[-1]
    facts = DockerfileFacts(path, tuple(bases), final.user[0] if final.user else None,
                            final.user[1] if final.user else None, final.healthcheck,
                            tuple(dict.fromkeys(final.exposes)), len(stages))
    command, origin = _image_command(path, final)
    return _Image(facts, command, origin, tuple(final.env), final.base)


def _image_command(path: str, stage: _Stage) -> tuple[str | tuple[str, ...] | None,
                                                       _Origin | None]:
    """What `docker run` executes: ENTRYPOINT + CMD, as Docker combines them."""
    context = posixpath.dirname(path)
    entry, cmd = stage.entrypoint, stage.cmd
    if entry is None and cmd is None:
        return None, None
    where = cmd[1] if cmd else entry[1]
    label = f"{path} {'CMD' if cmd else 'ENTRYPOINT'}"
    if entry and isinstance(entry[0], str):  # shell-form ENTRYPOINT ignores CMD
        return entry[0], _Origin(f"{path} ENTRYPOINT", entry[1], context_dir=context)
    if entry is None and isinstance(cmd[0], str):
        return cmd[0], _Origin(label, where, context_dir=context)
    words = list(entry[0]) if entry else []
    if cmd:
        words += cmd[0] if isinstance(cmd[0], list) else ["/bin/sh", "-c", cmd[0]]
    return tuple(words), _Origin(label, where, expands=False, context_dir=context)


_TIANGOLO = "tiangolo/uvicorn-gunicorn"


def _image_servers(reader: _Reader, image: _Image, env: _Env, service: str = ""
                   ) -> list[ServerProcess]:
    if image.command is not None and image.origin is not None:
        origin = replace(image.origin, service=service)
        command = image.command if isinstance(image.command, str) else list(image.command)
        return reader.servers(command, origin, env)
    if image.base.startswith(_TIANGOLO):  # that image's own start script runs gunicorn
        here = image.facts.base_images[-1].location if image.facts.base_images else \
            Location(image.facts.path)
        num = reader.env_workers(_SPECS["gunicorn"], env)
        text = num.describe("") if num else (f"{_TIANGOLO} image default: WORKERS_PER_CORE "
                                             "x CPU cores (depends on the machine)")
        return [ServerProcess("gunicorn", "", num.value if num else None,
                              num.location if num else None, text,
                              "uvicorn.workers.UvicornWorker", image.base, here, service)]
    return []


# -- docker compose --------------------------------------------------------------------

_KIND_WORDS = (("postgres", ("postgres", "postgresql", "postgis", "timescaledb", "pgvector")),
               ("mysql", ("mysql", "mariadb", "percona")),
               ("redis", ("redis", "valkey", "keydb", "dragonfly")),
               ("rabbitmq", ("rabbitmq",)), ("mongo", ("mongo", "mongodb")),
               ("nginx", ("nginx", "openresty")))
# Tools named after the server they watch or manage ("postgres-exporter") are not it.
_TOOL_WORDS = frozenset({"exporter", "commander", "admin", "ui", "insight", "backup",
                         "operator", "express", "adminer"})
_TASK_WORDS = re.compile(r"\b(celery|arq|dramatiq|rq|taskiq|huey)\b")
_MAX_CONNECTIONS = re.compile(r"(?:-c|--)?max[_-]connections=(\d+)")
_CONF_MAX_CONNECTIONS = re.compile(r"^\s*max_connections\s*=\s*'?(\d+)", re.MULTILINE)
Fields = dict[str, tuple[str, yaml.Node]]  # compose key -> (file it is written in, value)


def _image_kind(image: str) -> str:
    repository = image.lower().split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    parts = re.split(r"[-_.]", repository)
    if _TOOL_WORDS.intersection(parts):
        return ""
    for kind, words in _KIND_WORDS:
        if parts[0] in words:
            return kind
    return ""


class _Compose:
    def __init__(self, reader: _Reader, images: dict[str, _Image]):
        self.reader, self.images = reader, images
        self._services: dict[str, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def services_of(self, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if path not in self._services:
            documents = _yaml_documents(self.reader, path) if path in self.reader.file_set \
                else []
            top = _map(documents[0]) if documents else {}
            if documents and not top:
                self.reader.note(f"{path}: not a mapping at the top; not read")
            self._services[path] = _map(top["services"][1]) if "services" in top else {}
        return self._services[path]

    def fields(self, path: str, name: str, seen: frozenset = frozenset()
               ) -> tuple[Fields, list[tuple[str, yaml.Node]]]:
        """A service's keys with `extends:` applied; environments are kept per level."""
        own = {key: (path, value) for key, (_, value) in
               _map(self.services_of(path)[name][1]).items()}
        environments = [own.pop("environment")] if "environment" in own else []
        extends = own.pop("extends", None)
        if extends is None:
            return own, environments
        spec = _map(extends[1])
        base_name = _scalar(extends[1]) or _scalar((spec.get("service") or (None, None))[1])
        base_file = _scalar((spec.get("file") or (None, None))[1])
        base_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), base_file)) \
            if base_file else path
        if not base_name or (base_path, base_name) in seen \
                or base_name not in self.services_of(base_path):
            self.reader.note(f"{path}: service {name} extends {base_name} in {base_path}, "
                             "which could not be found; its own keys only")
            return own, environments
        base, base_environments = self.fields(base_path, base_name,
                                              seen | {(path, name)})
        return {**base, **own}, base_environments + environments

    def read(self, path: str) -> tuple[list[Service], list[ServerProcess]]:
        services, servers = [], []
        directory = posixpath.dirname(path)
        for name, (key, _) in self.services_of(path).items():
            fields, environments = self.fields(path, name)
            service, found = self.service(path, directory, name, Location(path, _line(key)),
                                          fields, environments)
            services.append(service)
            servers.extend(found)
        return services, servers

    def service(self, path: str, directory: str, name: str, where: Location, fields: Fields,
                environments: list[tuple[str, yaml.Node]]
                ) -> tuple[Service, list[ServerProcess]]:
        def get(key: str) -> yaml.Node | None:
            return (fields.get(key) or ("", None))[1]
        image_name = _scalar(get("image")) or ""
        image = self.built_image(path, directory, name, get("build"))
        env = self.environment(directory, environments, get("env_file"), image)
        replicas_node = _map(get("deploy")).get("replicas", (None, get("scale")))[1]
        replicas = _int(_scalar(replicas_node))
        replicas_at = Location(fields.get("deploy", fields.get("scale", (path,)))[0],
                               _line(replicas_node)) if replicas is not None else None
        # A service built from `FROM nginx:...` is an nginx as much as `image: nginx` is.
        kind = _image_kind(image_name) or (_image_kind(image.base) if image else "")
        # Compose writes a literal $ as $$; the container's shell then expands it.
        command, entrypoint = (_unescape(_command_value(get("command"))),
                               _unescape(_command_value(get("entrypoint"))))
        servers: list[ServerProcess] = []
        if not kind and (command or entrypoint):
            node = get("command") if command else get("entrypoint")
            origin = _Origin(f"{path} service {name} {'command' if command else 'entrypoint'}",
                             Location(fields["command" if command else "entrypoint"][0],
                                      _line(node)), name, context_dir=directory)
            if entrypoint and command:
                words = (_words(entrypoint) or [] if isinstance(entrypoint, str) else entrypoint)
                words += _words(command) or [] if isinstance(command, str) else command
                servers = self.reader.servers(words, origin, env)
            else:
                servers = self.reader.servers(command or entrypoint or "", origin, env)
        elif not kind and image is not None:
            servers = _image_servers(self.reader, image, env, name)
        servers = [replace(s, replicas=replicas, replicas_location=replicas_at)
                   for s in servers]
        command_text = " ".join(command) if isinstance(command, list) else command or ""
        if not kind:
            kind = ("app" if any(s.is_web for s in servers) else
                    "worker" if any(s.server in TASK_SERVERS for s in servers)
                    or _TASK_WORDS.search(command_text) else
                    "app" if image is not None or get("build") is not None else "other")
        health = _map(get("healthcheck"))
        test = _command_value((health.get("test") or (None, None))[1])
        has_health = bool(health) and _scalar((health.get("disable") or (None, None))[1]) \
            != "true" and test not in (["NONE"], "NONE")
        limit, limit_at = self.max_connections(kind, fields, command, directory)
        service = Service(
            name, image_name, get("build") is not None, kind,
            has_health or bool(image and image.facts.has_healthcheck),
            tuple(_short_form(item, ("published", "target")) for item in _items(get("ports"))),
            tuple(_short_form(item, ("source", "target")) for item in _items(get("volumes"))),
            tuple([_scalar(item) or "" for item in _items(get("depends_on"))]
                  + list(_map(get("depends_on")))),
            where, limit, limit_at, _scalar(get("user")) or "", _scalar(get("restart")) or "",
            replicas, replicas_at)
        return service, servers

    def built_image(self, path: str, directory: str, name: str, build: yaml.Node | None
                    ) -> _Image | None:
        if build is None:
            return None
        spec = _map(build)
        context = _scalar(build) or _scalar((spec.get("context") or (None, None))[1]) or "."
        dockerfile = _scalar((spec.get("dockerfile") or (None, None))[1]) or "Dockerfile"
        if "://" in context or "$" in context + dockerfile:
            return None
        target = posixpath.normpath(posixpath.join(directory, context, dockerfile))
        if target not in self.images and target not in self.reader.file_set:
            self.reader.note(f"{path}: service {name} builds {target}, which is not in the "
                             "repository")
        return self.images.get(target)

    def environment(self, directory: str, environments: list[tuple[str, yaml.Node]],
                    env_file: yaml.Node | None, image: _Image | None) -> _Env:
        """Container env first, then .env. Compose itself interpolates $VAR in `command:`
        from the host shell and .env only; resolving it against `environment:` as well is
        a deliberate approximation: those values are in the repository, the host's are not."""
        layers: list[tuple[EnvBinding, ...]] = []
        for file_path, node in reversed(environments):  # the service's own level first
            layers.append(tuple(_yaml_env(file_path, node, file_path)))
        references = [_scalar(env_file)] + [
            _scalar(item) or _scalar((_map(item).get("path") or (None, None))[1])
            for item in _items(env_file)]
        for reference in filter(None, references):
            target = posixpath.normpath(posixpath.join(directory, reference))
            text = self.reader.text(target) if target in self.reader.file_set else None
            if text is None and target not in self.reader.file_set:
                self.reader.note(f"env_file {target} is not in the repository")
            layers.append(_dotenv_bindings(text or "", target))
        if image is not None:
            layers.append(image.env)
        return _Env((*layers, *self.reader.dotenv(directory).layers))

    def max_connections(self, kind: str, fields: Fields, command: str | list[str] | None,
                        directory: str) -> tuple[int | None, Location | None]:
        if kind != "postgres":
            return None, None
        words = command if isinstance(command, list) else _words(command or "") or []
        for word in words:
            match = _MAX_CONNECTIONS.fullmatch(word)
            if match:
                file_path, node = fields["command"]
                return int(match[1]), Location(file_path, _line(node))
        # A postgresql.conf mounted from the repository (postgres -c config_file=...).
        for item in _items((fields.get("volumes") or ("", None))[1]):
            source = _short_form(item, ("source", "target")).split(":")[0]
            target = posixpath.normpath(posixpath.join(directory, source))
            if source.endswith(".conf") and target in self.reader.file_set:
                match = _CONF_MAX_CONNECTIONS.search(self.reader.text(target) or "")
                if match:
                    line = self.reader.text(target)[:match.start(1)].count("\n") + 1
                    return int(match[1]), Location(target, line)
        return None, None


def _unescape(command: str | list[str] | None) -> str | list[str] | None:
    if isinstance(command, list):
        return [word.replace("$$", "$") for word in command]
    return command.replace("$$", "$") if command else command


def _short_form(node: yaml.Node, keys: tuple[str, str]) -> str:
    """Compose ports/volumes: "8000:8000" as written, or the long form rebuilt."""
    if (text := _scalar(node)) is not None:
        return text
    fields = _map(node)
    parts = [_scalar((fields.get(key) or (None, None))[1]) for key in keys]
    return ":".join(part for part in parts if part)


# -- Procfile, fly.toml, render.yaml, app.json, k8s -------------------------------------

def _line_of(text: str, pattern: str, start: int = 0) -> int:
    match = re.compile(pattern, re.MULTILINE).search(text, start)
    return text[:match.start()].count("\n") + 1 if match else 0


def _app_json(reader: _Reader, path: str) -> tuple[tuple[EnvBinding, ...], dict[str, tuple[
        int, Location]]]:
    """Heroku app.json: env values and formation quantities (replicas per process type)."""
    text = reader.text(path) or ""
    try:
        data = json.loads(text) if text else {}
    except ValueError as exc:
        reader.note(f"{path}: not valid JSON ({exc}); not read")
        return (), {}
    data = data if isinstance(data, dict) else {}
    env, formation = [], {}
    for name, value in (data.get("env") or {}).items() if isinstance(data.get("env"),
                                                                     dict) else ():
        value = value.get("value") if isinstance(value, dict) else value
        env.append(EnvBinding(name, None if value is None else str(value),
                              Location(path, _line_of(text, rf'"{re.escape(name)}"\s*:')), path))
    start = text.find('"formation"')
    for name, value in (data.get("formation") or {}).items() \
            if isinstance(data.get("formation"), dict) else ():
        quantity = value.get("quantity") if isinstance(value, dict) else None
        if isinstance(quantity, int):
            line = _line_of(text, r'"quantity"', max(text.find(f'"{name}"', start), 0))
            formation[name] = (quantity, Location(path, line))
    return tuple(env), formation


def _procfile(reader: _Reader, path: str, env: _Env,
              formation: dict[str, tuple[int, Location]]) -> list[ServerProcess]:
    servers = []
    for number, line in enumerate((reader.text(path) or "").splitlines(), 1):
        match = re.match(r"\s*([\w-]+)\s*:\s*(.+)", line)
        if not match or line.lstrip().startswith("#"):
            continue
        name, command = match[1], match[2].strip()
        origin = _Origin(f"{path} {name}", Location(path, number), name,
                         context_dir=posixpath.dirname(path), required=name != "release")
        replicas, replicas_at = formation.get(name, (None, None))
        servers += [replace(s, replicas=replicas, replicas_location=replicas_at)
                    for s in reader.servers(command, origin, env)]
    return servers


def _fly(reader: _Reader, path: str) -> list[ServerProcess]:
    text = reader.text(path) or ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reader.note(f"{path}: not valid TOML ({exc}); not read")
        return []
    env_table = data.get("env") if isinstance(data.get("env"), dict) else {}
    bindings = tuple(EnvBinding(name, str(value), Location(path, _line_of(
        text, rf"^\s*{re.escape(name)}\s*=")), path) for name, value in env_table.items())
    env = _Env((bindings, *reader.dotenv(posixpath.dirname(path)).layers))
    processes = data.get("processes") if isinstance(data.get("processes"), dict) else {}
    experimental = data.get("experimental") if isinstance(data.get("experimental"), dict) \
        else {}
    if not processes and experimental.get("cmd"):
        processes = {"app": experimental["cmd"]}
    servers = []
    for name, command in processes.items():
        if isinstance(command, (str, list)):
            section = max(text.find("[processes]"), text.find("[experimental]"), 0)
            where = Location(path, _line_of(text, rf"^\s*(?:{re.escape(name)}|cmd)\s*=",
                                            section))
            origin = _Origin(f"{path} processes.{name}", where, name,
                             context_dir=posixpath.dirname(path))
            words = command if isinstance(command, str) else [str(item) for item in command]
            servers += reader.servers(words, origin, env)
    return servers


def _render(reader: _Reader, path: str) -> tuple[list[Service], list[ServerProcess]]:
    services, servers = [], []
    documents = _yaml_documents(reader, path)
    top = _map(documents[0]) if documents else {}
    for item in _items((top.get("services") or (None, None))[1]):
        fields = {key: value for key, (_, value) in _map(item).items()}
        name, kind = _scalar(fields.get("name")) or "", _scalar(fields.get("type")) or ""
        where = Location(path, _line(item))
        if kind in ("redis", "keyvalue"):
            services.append(Service(name, "", False, "redis", False, (), (), (), where))
            continue
        command = fields.get("startCommand") or fields.get("dockerCommand")
        if _scalar(command) is None:
            continue
        scaling = {key: value for key, (_, value) in _map(fields.get("scaling")).items()}
        count = fields.get("numInstances") or scaling.get("maxInstances")
        replicas = _int(_scalar(count))
        env = _Env((tuple(_yaml_env(path, fields.get("envVars"), path)),
                    *reader.dotenv(posixpath.dirname(path)).layers))
        origin = _Origin(f"{path} service {name} startCommand", Location(path, _line(command)),
                         name, context_dir=posixpath.dirname(path))
        servers += [replace(s, replicas=replicas, replicas_location=Location(
            path, _line(count)) if replicas is not None else None)
            for s in reader.servers(_scalar(command) or "", origin, env)]
    for item in _items((top.get("databases") or (None, None))[1]):
        name = _scalar((_map(item).get("name") or (None, None))[1]) or ""
        services.append(Service(name, "", False, "postgres", False, (), (), (),
                                Location(path, _line(item))))
    return services, servers


_WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def _k8s(reader: _Reader, path: str) -> tuple[list[K8sWorkload], list[ServerProcess],
                                              dict[str, tuple[int, Location]]]:
    workloads, servers, autoscaled = [], [], {}
    for document in _yaml_documents(reader, path):
        top = {key: value for key, (_, value) in _map(document).items()}
        kind = _scalar(top.get("kind")) or ""
        metadata = {key: value for key, (_, value) in _map(top.get("metadata")).items()}
        spec = {key: value for key, (_, value) in _map(top.get("spec")).items()}
        name = _scalar(metadata.get("name")) or ""
        if kind == "HorizontalPodAutoscaler":
            target = _scalar((_map(spec.get("scaleTargetRef")).get("name") or (None, None))[1])
            maximum = spec.get("maxReplicas")
            if target and _int(_scalar(maximum)) is not None:
                autoscaled[target] = (_int(_scalar(maximum)), Location(path, _line(maximum)))
            continue
        if kind not in _WORKLOAD_KINDS:
            continue
        replicas_node = spec.get("replicas")
        replicas = _int(_scalar(replicas_node))
        replicas_at = Location(path, _line(replicas_node)) if replicas is not None else None
        pod = _map((_map(spec.get("template")).get("spec") or (None, None))[1])
        images = []
        for container in _items((pod.get("containers") or (None, None))[1]):
            fields = {key: value for key, (_, value) in _map(container).items()}
            images.append(_scalar(fields.get("image")) or "")
            words = [_scalar(item) or "" for item in _items(fields.get("command"))
                     + _items(fields.get("args"))]
            if not words:
                continue  # the image's own CMD; which Dockerfile built it is not known
            # Kubernetes expands $(VAR) from the container env; no shell is involved.
            words = [re.sub(r"\$\(([A-Za-z_]\w*)\)", r"${\1}", word) for word in words]
            node = fields.get("command") or fields.get("args")
            env = _Env((tuple(_yaml_env(path, fields.get("env"), path)),))
            origin = _Origin(f"{path} {kind} {name}", Location(path, _line(node)), name,
                             context_dir=posixpath.dirname(path))
            servers += [replace(s, replicas=replicas, replicas_location=replicas_at)
                        for s in reader.servers(words, origin, env)]
        workloads.append(K8sWorkload(name, kind, tuple(images), replicas, replicas_at,
                                     Location(path, _line(document))))
    return workloads, servers, autoscaled


# -- entry point -----------------------------------------------------------------------

_COMPOSE_NAME = re.compile(r"(docker-)?compose([.-][\w.-]*)?\.ya?ml")
_ROOT_SCRIPTS = ("start.sh", "entrypoint.sh", "docker-entrypoint.sh", "run.sh", "prestart.sh",
                 "boot.sh")
_K8S_KIND = re.compile(r"^kind:\s*(Deployment|StatefulSet|HorizontalPodAutoscaler)\s*$",
                       re.MULTILINE)


def _is_dockerfile(name: str) -> bool:
    return (name in ("Dockerfile", "Containerfile") or name.startswith("Dockerfile.")
            or name.lower().endswith(".dockerfile")) and not name.endswith(".dockerignore")


def read_deployment(root: Path, files: Sequence[str]) -> Deployment:
    """Deployment facts from the files discovery found (POSIX paths relative to root)."""
    reader = _Reader(root, files)
    names = {path: posixpath.basename(path) for path in reader.files}
    servers: list[ServerProcess] = []
    services: list[Service] = []
    workloads: list[K8sWorkload] = []
    autoscaled: dict[str, tuple[int, Location]] = {}
    images: dict[str, _Image] = {}

    def guarded(path: str, step) -> None:
        # One odd file must cost a note, never the whole audit.
        try:
            step()
        except Exception as exc:  # noqa: BLE001
            reader.note(f"{path}: could not be analysed ({type(exc).__name__}: {exc})")

    def dockerfile(path: str) -> None:
        image = _read_dockerfile(reader, path)
        if image is not None:
            images[path] = image
            env = _Env((image.env, *reader.dotenv(posixpath.dirname(path)).layers))
            servers.extend(_image_servers(reader, image, env))

    def compose(path: str) -> None:
        found_services, found_servers = _Compose(reader, images).read(path)
        services.extend(found_services)
        servers.extend(found_servers)

    def k8s(path: str) -> None:
        found_workloads, found_servers, found_autoscaled = _k8s(reader, path)
        workloads.extend(found_workloads)
        servers.extend(found_servers)
        autoscaled.update(found_autoscaled)

    def render(path: str) -> None:
        found_services, found_servers = _render(reader, path)
        services.extend(found_services)
        servers.extend(found_servers)

    heroku: list[tuple[tuple[EnvBinding, ...], dict[str, tuple[int, Location]]]] = []
    for path in reader.files:
        if names[path] == "app.json" and posixpath.dirname(path) == "":
            guarded(path, lambda path=path: heroku.append(_app_json(reader, path)))
    app_env, formation = heroku[0] if heroku else ((), {})

    def procfile(path: str) -> None:
        env = _Env((app_env, *reader.dotenv(posixpath.dirname(path)).layers))
        servers.extend(_procfile(reader, path, env, formation))
    for path in (p for p in reader.files if _is_dockerfile(names[p])):
        guarded(path, lambda path=path: dockerfile(path))
    for path in reader.files:
        name = names[path]
        if _COMPOSE_NAME.fullmatch(name):
            guarded(path, lambda path=path: compose(path))
        elif name == "Procfile":
            guarded(path, lambda path=path: procfile(path))
        elif name == "fly.toml":
            guarded(path, lambda path=path: servers.extend(_fly(reader, path)))
        elif name in ("render.yaml", "render.yml"):
            guarded(path, lambda path=path: render(path))
        elif name.endswith((".yaml", ".yml")) and _K8S_KIND.search(reader.text(path) or ""):
            guarded(path, lambda path=path: k8s(path))
    for path in reader.files:
        if names[path] in _ROOT_SCRIPTS and posixpath.dirname(path) == "" \
                and path not in reader.scripts_read:
            origin = _Origin(path, Location(path), required=False)
            guarded(path, lambda path=path, origin=origin: servers.extend(reader.script(
                path, (), origin, reader.dotenv(""), 0)))
    workloads = [replace(w, max_replicas=autoscaled[w.name][0],
                         max_replicas_location=autoscaled[w.name][1])
                 if w.name in autoscaled else w for w in workloads]
    return Deployment(tuple(servers), tuple(services),
                      tuple(image.facts for image in images.values()), tuple(workloads),
                      tuple(reader.notes))
