"""Which calls block the event loop, and where async code makes them: directly in an
`async def`, or one level down, through a sync project function it calls. Shared by
PA201 (I/O), PA202 (sync database clients) and PA206 (CPU-heavy work). Not a rule.

A call does not block the loop when it is awaited (it is async), when it runs in a worker
thread (`asyncio.to_thread`, `loop.run_in_executor`, `run_in_threadpool`,
`anyio.to_thread.run_sync`: the function is passed, not called, or called inside a lambda
given to them), or when the code is a plain `def` route or dependency (FastAPI runs those
in its thread pool). Sync helpers are only followed when nothing can change how they run:
no decorators other than staticmethod/classmethod, not cached, not generators (a sync
generator given to StreamingResponse is iterated in the thread pool).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prodaudit.findings import Evidence, Location, Severity
from prodaudit.model.callgraph import FunctionNode
from prodaudit.model.facts import CallFact, FunctionFact, ModuleSummary
from prodaudit.model.objects import OBJECTS, Bound

# What the loop is blocked by; PA201 reports io/sleep/subprocess/file/sdk, PA202 db, PA206 cpu.
SLEEP, HTTP, SUBPROCESS, FILE, SDK, DB, CPU = "sleep", "http", "subprocess", "file", "sdk", "db", "cpu"

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "stream", "send")
# Calls ruff's flake8-async rules (ASYNC210-251) already report when written in an async def.
RUFF_DIRECT: dict[str, str] = {
    "time.sleep": SLEEP,
    **{f"requests.{v}": HTTP for v in HTTP_VERBS},
    **{f"httpx.{v}": HTTP for v in HTTP_VERBS},
    "urllib.request.urlopen": HTTP, "urllib3.request": HTTP,
    **{f"subprocess.{f}": SUBPROCESS for f in ("run", "call", "check_call", "check_output", "Popen",
                                                "getoutput", "getstatusoutput")},
    **{f"os.{f}": SUBPROCESS for f in ("system", "popen", "spawnl", "spawnv", "spawnlp", "spawnvp",
                                        "posix_spawn", "posix_spawnp", "wait", "waitpid")},
    "open": FILE, "io.open": FILE, "builtins.open": FILE,
}
CPU_DIRECT = {"bcrypt.hashpw": "bcrypt.hashpw", "bcrypt.checkpw": "bcrypt.checkpw", "bcrypt.kdf": "bcrypt.kdf",
              "hashlib.pbkdf2_hmac": "hashlib.pbkdf2_hmac", "hashlib.scrypt": "hashlib.scrypt",
              "argon2.low_level.hash_secret": "argon2 hash_secret"}
PASSLIB_HASH_METHODS = ("hash", "verify", "encrypt", "genhash", "verify_and_update")
PATH_IO = ("read_text", "write_text", "read_bytes", "write_bytes")
OFFLOADERS = {"asyncio.to_thread", "starlette.concurrency.run_in_threadpool",
              "fastapi.concurrency.run_in_threadpool", "anyio.to_thread.run_sync",
              "asgiref.sync.sync_to_async", "asyncer.asyncify"}
# `executor.submit(lambda: f(x))` and multiprocessing's apply_async run f elsewhere too.
OFFLOAD_TAILS = ("run_in_executor", "run_in_threadpool", "to_thread", "run_sync", "submit", "apply_async")
HARMLESS_DECORATORS = {"staticmethod", "classmethod", "abc.abstractmethod", "abstractmethod",
                       "typing.override", "typing_extensions.override", "override"}
# Methods of sync clients that do no I/O.
NO_IO_METHODS = {"pipeline", "pubsub", "lock", "register_script", "cursor", "get_paginator",
                 "can_paginate", "with_options", "copy", "add", "add_all", "expunge", "expire",
                 "begin_nested", "close", "meta", "exceptions", "get_bind", "in_transaction",
                 "generate_presigned_url", "generate_presigned_post"}
SESSION_IO = {"query", "execute", "scalar", "scalars", "get", "get_one", "commit", "flush", "refresh",
              "merge", "rollback", "connection", "exec", "bulk_save_objects", "bulk_insert_mappings",
              "bulk_update_mappings", "delete"}
HASHER_METHODS = {"hash", "verify", "verify_and_update", "encrypt", "genhash"}
# One-off scripts and CLIs: blocking their own loop delays nobody else.
SCRIPT_PATH = re.compile(r"(^|/)(scripts?|bin|tools|cli|commands|management|migrations|alembic)(/|$)|"
                         r"(^|/)(__main__|manage|cli|setup|conftest)\.py$")
IMAGE_METHODS = {"resize", "thumbnail", "rotate", "transpose", "filter", "convert", "save", "quantize",
                 "reduce", "transform"}


@dataclass(frozen=True)
class Blocking:
    category: str
    what: str  # "time.sleep()", "sync Redis client `cache` (redis.Redis)"
    severity: Severity
    ruff: bool = False  # the ruff bridge reports it when it is written in an async def
    bound: Bound | None = None  # the library object the call is made on

    @property
    def noun(self) -> str:
        """What is used: "sync SQLAlchemy Session", "sync Redis client"."""
        if self.bound is None:
            return self.what
        obj = self.bound.obj
        if obj.kind.startswith(("db", "redis")):
            return f"sync {_db_noun(obj)}"
        return f"sync {obj.label}" if obj.kind == "http-client" else f"sync {obj.family} client"


@dataclass(frozen=True)
class LoopBlock:
    caller: FunctionNode  # the async def
    site: CallFact  # the call in the async def: the blocking call, or the call of the helper
    blocking: Blocking
    blocking_call: CallFact  # the blocking call itself (== site when direct)
    helper: FunctionNode | None = None  # the sync project function in between

    @property
    def site_location(self) -> Location:
        return Location(self.caller.module.path, self.site.line)

    @property
    def blocking_location(self) -> Location:
        module = self.helper.module if self.helper else self.caller.module
        return Location(module.path, self.blocking_call.line)


def classify(project, module: ModuleSummary, call: CallFact) -> Blocking | None:
    """Whether this call, made on the event loop, blocks it, and how."""
    name = call.name
    if name in RUFF_DIRECT:
        category = RUFF_DIRECT[name]
        if category == FILE and module.function(name) is not None:
            return None  # a module-level `def open(...)` of the project
        return Blocking(category, f"{name}()", _severity(category), ruff=True)
    if name in CPU_DIRECT:
        return Blocking(CPU, f"{CPU_DIRECT[name]}()", Severity.HIGH)
    tail = call.callee.rsplit(".", 1)[-1]
    if name.startswith("passlib.hash.") and tail in PASSLIB_HASH_METHODS:
        return Blocking(CPU, f"{name}()", Severity.HIGH)
    obj = OBJECTS.get(name)
    if obj is not None and obj.family == "smtplib" and not (call.args or call.keyword("host")):
        obj = None  # smtplib.SMTP() without a host connects later, in connect()
    if obj is not None and obj.connects_on_create and not obj.is_async:
        category = DB if obj.kind.startswith("db") else SDK
        return Blocking(category, f"`{call.callee}()` (connects when created)", _severity(category),
                        bound=Bound(obj, Location(module.path, call.line), "created here"))
    if tail in PATH_IO and "." in call.callee and not project.callgraph.resolve_call(
            module, call.scope, call.callee, call.name):
        return Blocking(FILE, f"{call.callee.split('(')[0]}()", Severity.MEDIUM, ruff=True)
    found = project.objects.receiver_of(module, call)
    if found is None:
        return None
    bound, method = found
    obj = bound.obj
    if obj.is_async:
        return None
    kind = obj.kind
    if "(" in method and kind != "supabase":
        # `db.query(User).all()`: the I/O is the inner call, a CallFact of its own.
        return None
    method_name = method.split(".")[-1]
    written = f"`{call.callee}()`"
    if kind == "http-client" and method_name in HTTP_VERBS and "." not in method:
        return Blocking(HTTP, f"{written} on a sync {obj.label}", Severity.HIGH, bound=bound)
    if kind == "password-hasher" and method_name in HASHER_METHODS:
        return Blocking(CPU, f"{written} ({obj.label} password hashing)", Severity.HIGH, bound=bound)
    if kind == "image" and method_name in IMAGE_METHODS:
        return Blocking(CPU, f"{written} (Pillow image processing)", Severity.MEDIUM, bound=bound)
    if method_name in NO_IO_METHODS:
        return None
    if kind == "db-session" and method_name not in SESSION_IO:
        return None
    if kind == "redis-pipeline" and method_name != "execute":
        return None  # commands are buffered; execute() sends them
    if kind in ("db-session", "db-engine", "db-connection", "db-cursor", "redis-client", "redis-pipeline"):
        if kind == "db-engine" and method_name not in ("connect", "begin", "execute", "raw_connection"):
            return None
        return Blocking(DB, f"{written} on a sync {_db_noun(obj)}", Severity.HIGH, bound=bound)
    if kind == "supabase" and not (method_name == "execute" or ".auth." in f".{method}" or ".storage." in f".{method}"):
        return None
    if kind == "llm-client" and ("." not in method or method.startswith("aio.")):
        return None
    if kind in ("cloud-client", "smtp", "docker", "supabase", "llm-client"):
        return Blocking(SDK, f"{written} on a sync {obj.family} client", Severity.HIGH, bound=bound)
    return None


def _db_noun(obj) -> str:
    noun = {"redis-client": "Redis client", "redis-pipeline": "Redis pipeline", "db-session": "SQLAlchemy Session",
            "db-engine": "SQLAlchemy engine", "db-cursor": "database cursor"}.get(obj.kind, "database connection")
    return noun if obj.family in ("redis", "sqlalchemy") else f"{obj.family} {noun}"


def _severity(category: str) -> Severity:
    return Severity.MEDIUM if category == FILE else Severity.HIGH


# -- where async code makes them ------------------------------------------------------------
def offload_spans(calls: list[CallFact]) -> list[CallFact]:
    return [c for c in calls if c.name in OFFLOADERS or c.callee.rsplit(".", 1)[-1] in OFFLOAD_TAILS]


def offloaded(call: CallFact, spans: list[CallFact]) -> bool:
    """Inside the arguments of to_thread/run_in_executor (a lambda, a partial), and not an
    argument evaluated before the hand-over (`to_thread(f(x))` still runs f on the loop)."""
    for span in spans:
        if span is call or not (span.line <= call.line <= span.end_line):
            continue
        eager = [v for v in (*span.args, *(v for _, v in span.keywords))
                 if v.kind == "call" and v.line == call.line and v.name == call.name]
        if not eager:
            return True
    return False


def plain_sync_helper(fn: FunctionFact) -> bool:
    if fn.is_async or fn.has_yield:
        return False
    return all((d.name or d.text) in HARMLESS_DECORATORS for d in fn.decorators)


def loop_blocks(project) -> list[LoopBlock]:
    """Every blocking call async code makes on the loop: direct ones, and one per (call
    site, category) through a sync project helper. Computed once for the three rules."""
    return list(project.shared("event_loop.loop_blocks", lambda: _loop_blocks(project)))


def _loop_blocks(project) -> list[LoopBlock]:
    graph = project.callgraph
    helper_memo: dict[str, list[tuple[Blocking, CallFact]]] = {}
    found: list[LoopBlock] = []
    calls_by_scope: dict[tuple[str, str], list[CallFact]] = {}
    for module in project.summaries("source"):
        for call in module.calls:
            calls_by_scope.setdefault((module.path, call.scope), []).append(call)
    for key, node in sorted(graph.nodes.items()):
        if not node.fact.is_async:
            continue
        own = calls_by_scope.get((node.module.path, node.fact.qualname), [])
        spans = offload_spans(own)
        for call in own:
            if call.awaited or offloaded(call, spans):
                continue
            blocking = classify(project, node.module, call)
            if blocking is not None:
                found.append(LoopBlock(node, call, blocking, call))
        seen_sites: set[tuple[int, str]] = set()
        for edge in graph.callees(key):
            helper = graph.nodes.get(edge.callee)
            if edge.kind != "call" or helper is None or not plain_sync_helper(helper.fact):
                continue
            if (edge.line, edge.callee) in seen_sites:
                continue
            seen_sites.add((edge.line, edge.callee))
            sites = [c for c in own if c.line == edge.line and not c.awaited and not offloaded(c, spans)
                     and graph.resolve_call(node.module, c.scope, c.callee, c.name) == edge.callee]
            if not sites:
                continue
            if edge.callee not in helper_memo:
                helper_memo[edge.callee] = _helper_blocking(project, helper, calls_by_scope)
            for blocking, inner in helper_memo[edge.callee]:
                found.append(LoopBlock(node, sites[0], blocking, inner, helper))
    return found


def _helper_blocking(project, helper: FunctionNode, calls_by_scope) -> list[tuple[Blocking, CallFact]]:
    """The first blocking call of each category in the helper's own body."""
    first: dict[str, tuple[Blocking, CallFact]] = {}
    for call in calls_by_scope.get((helper.module.path, helper.fact.qualname), []):
        if call.awaited:
            continue
        blocking = classify(project, helper.module, call)
        if blocking is not None and blocking.category not in first:
            first[blocking.category] = (blocking, call)
    return list(first.values())


def entry_reach(project) -> dict[str, tuple[str, tuple]]:
    """Functions reached from routes, bot handlers and background jobs, with the path."""
    return project.shared("event_loop.entry_reach",
                          lambda: project.callgraph.reachable(project.entry_points))


def chain_evidence(project, block: LoopBlock, reach: dict) -> list[Evidence]:
    """async caller -> sync helper -> blocking call -> where the object comes from -> entry."""
    caller = block.caller
    chain = []
    if block.helper is not None:
        chain.append(Evidence(block.site_location, f"async `{caller.fact.qualname}` calls sync "
                                                   f"`{block.helper.fact.qualname}` on the event loop"))
        chain.append(Evidence(block.helper.location, f"`{block.helper.fact.qualname}` is a plain def"))
        chain.append(Evidence(block.blocking_location, f"blocks: {block.blocking.what}"))
    else:
        chain.append(Evidence(block.site_location, f"blocks inside async `{caller.fact.qualname}`: "
                                                   f"{block.blocking.what}"))
    bound = block.blocking.bound
    if bound is not None and bound.location != block.blocking_location:
        chain.append(Evidence(bound.location, bound.how))
    reached = reach.get(caller.key)
    if reached is not None:
        label, path = reached
        chain.append(Evidence(caller.location, f"reached from {project.callgraph.describe_path(label, path)}"))
    return chain


def one_off_module(module: ModuleSummary) -> bool:
    """Scripts, CLIs and migrations: code that runs once, by hand, in its own process. Known
    by path, by an Alembic revision's upgrade()/downgrade(), or by `asyncio.run(...)` at
    module level (the module starts its own loop)."""
    if SCRIPT_PATH.search(module.path):
        return True
    top = {fn.name for fn in module.functions if "." not in fn.qualname}
    if {"upgrade", "downgrade"} <= top or any(c.name.startswith("alembic.context.") for c in module.calls):
        return True
    return any(c.scope == "" and c.name == "asyncio.run" for c in module.calls)


def is_script(project, block: LoopBlock, reach: dict) -> bool:
    """Async code of a one-off script that no entry point reaches: blocking its loop delays
    only itself."""
    return block.caller.key not in reach and one_off_module(block.caller.module)


def grouped(blocks: list[LoopBlock], direct_key) -> list[list[LoopBlock]]:
    """Direct blocks grouped by `direct_key(block)` (one finding per async function and
    object, say); indirect ones by helper: one finding per sync helper, whatever the number
    of async call sites (the fix is usually in the helper). In source order."""
    groups: dict[tuple, list[LoopBlock]] = {}
    for block in blocks:
        if block.helper is None:
            key = ("direct", block.caller.key, *direct_key(block))
        else:
            key = ("helper", block.helper.key)
        groups.setdefault(key, []).append(block)
    for group in groups.values():
        group.sort(key=lambda b: (b.caller.module.path, b.site.line, b.blocking_call.line, b.blocking.category))
    return sorted(groups.values(), key=lambda g: (g[0].caller.module.path, g[0].site.line))


@dataclass(frozen=True)
class GroupSummary:
    """What a finding about one group of loop blocks says."""

    first: LoopBlock
    callers: tuple[str, ...]  # async callers, unique, in order
    sites: int  # distinct call sites (helper) or blocking calls (direct)
    whats: tuple[str, ...]  # distinct blocking calls
    evidence: tuple[Evidence, ...]
    scripts_only: bool  # every caller is one-off script code
    reached: bool  # some caller is reached from a route, bot handler or job

    @property
    def listed(self) -> str:
        more = len(self.whats) - 1
        return self.whats[0] + (f" and {more} more" if more else "")

    @property
    def callers_text(self) -> str:
        names = [f"`{c}`" for c in self.callers[:2]]
        more = len(self.callers) - len(names)
        return ", ".join(names) + (f" and {more} more" if more else "")


def summarize_group(project, group: list[LoopBlock], reach: dict) -> GroupSummary:
    first = group[0]
    callers = tuple(dict.fromkeys(b.caller.fact.qualname for b in group))
    whats = tuple(dict.fromkeys(b.blocking.what for b in group))
    evidence: list[Evidence] = []
    if first.helper is None:
        for block in group[:5]:
            for item in chain_evidence(project, block, reach):
                if item not in evidence:
                    evidence.append(item)
        sites = len(group)
    else:
        helper = first.helper
        site_list = list(dict.fromkeys((b.site_location, b.caller.fact.qualname) for b in group))
        for location, caller in site_list[:4]:
            evidence.append(Evidence(location, f"async `{caller}` calls sync `{helper.fact.qualname}` "
                                               f"on the event loop"))
        if len(site_list) > 4:
            evidence.append(Evidence(site_list[4][0], f"... and {len(site_list) - 4} more async call sites"))
        evidence.append(Evidence(helper.location, f"`{helper.fact.qualname}` is a plain def"))
        for block in list({b.blocking_call.line: b for b in group}.values())[:3]:
            evidence.append(Evidence(block.blocking_location, f"blocks: {block.blocking.what}"))
            bound = block.blocking.bound
            if bound is not None and bound.location != block.blocking_location:
                evidence.append(Evidence(bound.location, bound.how))
        reached = next((b for b in group if b.caller.key in reach), None)
        if reached is not None:
            label, path = reach[reached.caller.key]
            evidence.append(Evidence(reached.caller.location,
                                     f"reached from {project.callgraph.describe_path(label, path)}"))
        sites = len(site_list)
    evidence = list(dict.fromkeys(evidence))
    return GroupSummary(first, callers, sites, whats, tuple(evidence),
                        all(is_script(project, b, reach) for b in group),
                        any(b.caller.key in reach for b in group))


def worst(blocks: list[LoopBlock]) -> Severity:
    return max((b.blocking.severity for b in blocks), key=lambda s: s.rank)
