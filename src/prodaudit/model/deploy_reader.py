"""The reader: reads files once, turns commands into ServerProcess records, evaluates
gunicorn config files."""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from prodaudit.findings import Location
from prodaudit.model.deploy_commands import (
    _APP_REF,
    _ASSIGNMENT,
    _PYTHON,
    _SHELLS,
    _SKIP_WORDS,
    _SPECS,
    _VALUED,
    _WRAPPERS,
    _dotenv_bindings,
    _Env,
    _logical_lines,
    _Num,
    _number,
    _options,
    _Origin,
    _segments,
    _Spec,
    _words,
)
from prodaudit.model.deploy_records import (
    MAX_COMMAND_TEXT,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    EnvBinding,
    ServerProcess,
)
from prodaudit.model.textfiles import read_project_text

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
