"""Files used as a data store: JSON, pickle or shelve files read and written by functions.

    with open(self.data_file, "w") as f:      # or aiofiles.open, Path.open
        json.dump(self.users, f)              # write of self.data_file
    data = json.loads(Path(DB).read_text())   # read of DB

Each access records the path expression (locals substituted by what they were assigned),
whether it depends on the function's own parameters (a file per call, not one shared file),
and whether the function writes atomically (os.replace/rename) or takes a file lock.
Appending (`open(p, "a")`) is logging, not a store, and is not recorded.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from prodaudit.model.extractors._async_flow import ancestors, body_nodes, by_function
from prodaudit.model.extractors._source_gates import occurrences, starts_word
from prodaudit.model.values import Value, to_value

DUMPS = {"json.dump": "json", "pickle.dump": "pickle", "ujson.dump": "json", "simplejson.dump": "json",
         "marshal.dump": "marshal"}
LOADS = {"json.load": "json", "pickle.load": "pickle", "ujson.load": "json", "simplejson.load": "json",
         "marshal.load": "marshal"}
STRING_DUMPS = {"json.dumps", "pickle.dumps", "ujson.dumps", "orjson.dumps", "simplejson.dumps"}
STRING_LOADS = {"json.loads", "pickle.loads", "ujson.loads", "orjson.loads", "simplejson.loads"}
OPENERS = {"open", "builtins.open", "io.open", "aiofiles.open", "codecs.open"}
SOURCE_HINT = re.compile(r"\b(?:dump|load)s?\(|shelve")  # tested by _mentions_serialisation
SERIALISE_CALL = re.compile(r"(?:dump|load)s?\(")
RENAMES = {"os.replace", "os.rename", "shutil.move"}
FILE_LOCKS = ("fcntl.flock", "fcntl.lockf", "filelock.", "portalocker.", "msvcrt.locking")


@dataclass(frozen=True)
class FileStoreAccess:
    scope: str
    op: str  # read, write, shelve (both)
    api: str  # json, pickle, marshal, shelve
    path: Value | None
    line: int
    uses_parameters: bool  # the path is built from the function's parameters: a file per call
    atomic: bool  # the function renames a file into place (tempfile + os.replace)
    file_locked: bool  # the function takes a file lock (fcntl, filelock, portalocker)


def extract(parsed) -> list[FileStoreAccess]:
    if not _mentions_serialisation(parsed.source):
        return []  # no (de)serialisation call; do not pay for the node index
    facts: list[FileStoreAccess] = []
    interesting = {*DUMPS, *LOADS, *STRING_DUMPS, *STRING_LOADS, "shelve.open"}
    calls = [c for c in parsed.nodes(ast.Call) if parsed.resolve(c.func) in interesting]
    for fn, _ in by_function(parsed, calls):
        scope = parsed.scope_name(fn)
        if scope:
            facts.extend(_accesses(parsed, fn, scope))
    return facts


def _mentions_serialisation(source: str) -> bool:
    """SOURCE_HINT.search(source), found from its literals instead of at every position."""
    if "shelve" in source:
        return True
    return any(starts_word(source, at) and SERIALISE_CALL.match(source, at)
               for word in ("dump", "load") for at in occurrences(source, word))


def _accesses(parsed, fn, scope: str) -> list[FileStoreAccess]:
    resolve = parsed.resolve
    nodes = list(body_nodes(fn))
    calls = [n for n in nodes if isinstance(n, ast.Call)]
    names = {id(c): resolve(c.func) for c in calls}
    atomic = any(names[id(c)] in RENAMES or (isinstance(c.func, ast.Attribute) and c.func.attr in ("replace", "rename")
                                             and len(c.args) == 1) for c in calls)
    locked = any(names[id(c)].startswith(FILE_LOCKS) for c in calls)
    params = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]} - {"self", "cls"}
    assigned = _local_values(nodes)
    found: list[tuple[str, str, ast.AST | None, int]] = []
    for call in calls:
        name = names[id(call)]
        if name in DUMPS or name in LOADS:
            op = "write" if name in DUMPS else "read"
            index = 1 if op == "write" else 0
            handle = call.args[index] if len(call.args) > index else _keyword(call, ("fp", "file"))
            path, mode = _opened_path(parsed, handle, call, fn)
            if path is not None and _mode_fits(mode, op):
                found.append((op, DUMPS.get(name) or LOADS[name], path, call.lineno))
        elif isinstance(call.func, ast.Attribute) and call.func.attr in ("write", "write_text", "write_bytes") \
                and call.args and isinstance(call.args[0], ast.Call) and names.get(id(call.args[0]), resolve(call.args[0].func)) in STRING_DUMPS:
            api = resolve(call.args[0].func).split(".")[0]
            if call.func.attr == "write":
                path, mode = _opened_path(parsed, call.func.value, call, fn)
                if path is not None and _mode_fits(mode, "write"):
                    found.append(("write", api, path, call.lineno))
            else:
                found.append(("write", api, call.func.value, call.lineno))
        elif name in STRING_LOADS and call.args:
            inner = _expand(call.args[0], assigned)  # `content = await f.read()` first
            inner = inner.value if isinstance(inner, ast.Await) else inner
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                api = name.split(".")[0]
                if inner.func.attr in ("read_text", "read_bytes"):
                    found.append(("read", api, inner.func.value, call.lineno))
                elif inner.func.attr == "read":
                    path, mode = _opened_path(parsed, inner.func.value, call, fn)
                    if path is not None and _mode_fits(mode, "read"):
                        found.append(("read", api, path, call.lineno))
        elif name == "shelve.open" and call.args:
            found.append(("shelve", "shelve", call.args[0], call.lineno))
        elif name in RENAMES and len(call.args) >= 2 and any(n in DUMPS or n in STRING_DUMPS for n in names.values()):
            found.append(("write", "json", call.args[1], call.lineno))  # tempfile renamed into place
    out = []
    for op, api, path, line in found:
        expanded = _expand(path, assigned)
        uses = any(isinstance(n, ast.Name) and n.id in params for n in ast.walk(expanded))
        out.append(FileStoreAccess(scope, op, api, to_value(expanded, parsed.imports.resolve), line, uses,
                                   atomic, locked))
    return out


def _keyword(call: ast.Call, keys: tuple[str, ...]) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg in keys), None)


def _opened_path(parsed, handle: ast.AST | None, call: ast.AST, fn) -> tuple[ast.AST | None, str]:
    """The path and mode a file handle was opened with: `open(p, "w")` directly, or the
    `with open(p, "w") as f` / `async with aiofiles.open(...) as f` around the call."""
    if handle is None:
        return None, ""
    if isinstance(handle, ast.Call):
        return _open_call(parsed, handle)
    if not isinstance(handle, ast.Name):
        return None, ""
    for node in ancestors(call, parsed.parent, fn):
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name) and item.optional_vars.id == handle.id \
                        and isinstance(item.context_expr, ast.Call):
                    return _open_call(parsed, item.context_expr)
    return None, ""


def _open_call(parsed, call: ast.Call) -> tuple[ast.AST | None, str]:
    name = parsed.resolve(call.func)
    mode_node = None
    if name in OPENERS and call.args:
        path = call.args[0]
        mode_node = call.args[1] if len(call.args) > 1 else _keyword(call, ("mode",))
    elif isinstance(call.func, ast.Attribute) and call.func.attr == "open":  # Path(...).open("w")
        path = call.func.value
        mode_node = call.args[0] if call.args else _keyword(call, ("mode",))
    else:
        return None, ""
    mode = mode_node.value if isinstance(mode_node, ast.Constant) and isinstance(mode_node.value, str) else (
        "r" if mode_node is None else "?")
    return path, mode


def _mode_fits(mode: str, op: str) -> bool:
    if mode == "?":
        return False  # a mode we cannot read: say nothing
    if op == "write":
        return "w" in mode or "x" in mode or "+" in mode
    return "r" in mode or "+" in mode


def _local_values(nodes) -> dict[str, ast.AST]:
    """Locals assigned exactly once in the function (anything else is ambiguous)."""
    values: dict[str, list[ast.AST]] = {}
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith, ast.AugAssign, ast.AnnAssign)):
            for target in ast.walk(getattr(node, "target", None) or ast.Pass()):
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).extend([None, None])
    return {name: found[0] for name, found in values.items() if len(found) == 1 and found[0] is not None}


def _expand(expr: ast.AST, assigned: dict[str, ast.AST], depth: int = 0) -> ast.AST:
    """`path` -> what the local `path` was assigned (once, unambiguously), recursively."""
    if depth > 3:
        return expr
    if isinstance(expr, ast.Name) and expr.id in assigned:
        return _expand(assigned[expr.id], assigned, depth + 1)
    if isinstance(expr, ast.BinOp):
        return ast.BinOp(_expand(expr.left, assigned, depth + 1), expr.op, _expand(expr.right, assigned, depth + 1))
    return expr
