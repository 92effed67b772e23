"""Library objects (HTTP clients, database sessions, Redis clients, SDK clients, password
hashers) and which of them a name in a function is bound to.

`client.get(url)` is only a blocking call if `client` is an `httpx.Client`, and only a
per-request connection pool if it was created in that request. This module answers "what
library object is `client` here?" statically: from a parameter annotation
(`db: Session`, `SessionDep = Annotated[Session, Depends(get_db)]`), a local assignment or
`with ... as` binding, a `self.` attribute set in the class, a module-level or imported
global, a factory (`SessionLocal = sessionmaker(...)` then `SessionLocal()`), an object
derived from another (`engine.connect()`, `conn.cursor()`), or a project function that
returns one (`get_redis()`). Anything else is unknown (None): rules stay silent then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from prodaudit.findings import Location
from prodaudit.model.facts import CallFact, FunctionFact, ModuleSummary
from prodaudit.model.values import Value

MAX_DEPTH = 6


@dataclass(frozen=True)
class LibraryObject:
    name: str  # canonical constructor ("httpx.AsyncClient") or type name for derived objects
    family: str  # httpx, requests, aiohttp, redis, sqlalchemy, psycopg2, sqlite3, docker, ...
    kind: str  # see KINDS
    is_async: bool
    # Methods that release its sockets or connections ("close", "aclose", "dispose").
    closers: tuple[str, ...] = ("close",)
    # Constructing it already does network I/O (psycopg2.connect, smtplib.SMTP(host)).
    connects_on_create: bool = False

    @property
    def label(self) -> str:
        name = self.name
        head, _, tail = name.rpartition(".")
        if tail in ("recommended", "from_url", "from_env") and head.rsplit(".", 1)[-1][:1].isupper():
            name = head  # `Redis.from_url(...)` makes a Redis
        for prefix in ("sqlalchemy.ext.asyncio.", "sqlalchemy.orm.", "passlib.context.", "PIL."):
            if name.startswith(prefix):
                return name[len(prefix):]
        return name


# http-client, redis-client, redis-pipeline, db-engine, db-session-factory, db-session, db-connection,
# db-cursor, db-pool, cloud-client, smtp, docker, supabase, llm-client, password-hasher, image
def _objects(family: str, kind: str, is_async: bool, names: str, **extra) -> list[LibraryObject]:
    return [LibraryObject(name, family, kind, is_async, **extra) for name in names.split()]


_ALL: list[LibraryObject] = [
    *_objects("httpx", "http-client", False, "httpx.Client"),
    *_objects("httpx", "http-client", True, "httpx.AsyncClient", closers=("aclose",)),
    *_objects("requests", "http-client", False, "requests.Session requests.session requests.sessions.Session"),
    *_objects("aiohttp", "http-client", True, "aiohttp.ClientSession aiohttp.client.ClientSession"),
    *_objects("redis", "redis-client", False,
              "redis.Redis redis.StrictRedis redis.client.Redis redis.client.StrictRedis redis.from_url "
              "redis.Redis.from_url redis.StrictRedis.from_url redis.client.Redis.from_url"),
    *_objects("redis", "redis-pipeline", False, "redis.client.Pipeline"),
    *_objects("redis", "redis-pipeline", True, "redis.asyncio.client.Pipeline"),
    *_objects("redis", "redis-client", True,
              "redis.asyncio.Redis redis.asyncio.StrictRedis redis.asyncio.client.Redis redis.asyncio.from_url "
              "redis.asyncio.Redis.from_url redis.asyncio.client.Redis.from_url aioredis.Redis "
              "aioredis.from_url aioredis.StrictRedis",
              closers=("aclose", "close")),
    *_objects("sqlalchemy", "db-engine", False, "sqlalchemy.create_engine sqlmodel.create_engine "
              "sqlalchemy.Engine sqlalchemy.engine.Engine", closers=("dispose",)),
    *_objects("sqlalchemy", "db-engine", True, "sqlalchemy.ext.asyncio.create_async_engine "
              "sqlalchemy.ext.asyncio.AsyncEngine", closers=("dispose",)),
    *_objects("sqlalchemy", "db-session-factory", False, "sqlalchemy.orm.sessionmaker sqlalchemy.orm.scoped_session"),
    *_objects("sqlalchemy", "db-session-factory", True, "sqlalchemy.ext.asyncio.async_sessionmaker "
              "sqlalchemy.ext.asyncio.async_scoped_session"),
    *_objects("sqlalchemy", "db-session", False, "sqlalchemy.orm.Session sqlalchemy.orm.session.Session "
              "sqlmodel.Session sqlmodel.orm.session.Session"),
    *_objects("sqlalchemy", "db-session", True, "sqlalchemy.ext.asyncio.AsyncSession "
              "sqlmodel.ext.asyncio.session.AsyncSession"),
    *_objects("sqlalchemy", "db-connection", False, "sqlalchemy.engine.Connection sqlalchemy.Connection"),
    *_objects("sqlalchemy", "db-connection", True, "sqlalchemy.ext.asyncio.AsyncConnection"),
    *_objects("psycopg2", "db-connection", False, "psycopg2.connect psycopg.connect psycopg.Connection.connect "
              "pymysql.connect MySQLdb.connect mysql.connector.connect", connects_on_create=True),
    *_objects("sqlite3", "db-connection", False, "sqlite3.connect"),
    *_objects("psycopg2", "db-cursor", False, "psycopg2.cursor"),
    *_objects("psycopg2", "db-pool", False, "psycopg2.pool.SimpleConnectionPool psycopg2.pool.ThreadedConnectionPool "
              "psycopg_pool.ConnectionPool", closers=("closeall", "close")),
    *_objects("pymongo", "db-connection", False, "pymongo.MongoClient"),
    *_objects("asyncpg", "db-connection", True, "asyncpg.connect aiosqlite.connect "
              "motor.motor_asyncio.AsyncIOMotorClient"),
    *_objects("asyncpg", "db-pool", True, "asyncpg.create_pool psycopg_pool.AsyncConnectionPool"),
    *_objects("boto3", "cloud-client", False, "boto3.client boto3.resource boto3.session.Session.client "
              "boto3.session.Session.resource"),
    *_objects("smtplib", "smtp", False, "smtplib.SMTP smtplib.SMTP_SSL", closers=("quit", "close"),
              connects_on_create=True),
    # from_env() defaults to version="auto": a round-trip to the daemon on construction.
    *_objects("docker", "docker", False, "docker.from_env docker.client.from_env", connects_on_create=True),
    *_objects("docker", "docker", False, "docker.DockerClient docker.APIClient docker.client.DockerClient"),
    *_objects("supabase", "supabase", False, "supabase.create_client supabase.Client supabase.client.create_client"),
    *_objects("supabase", "supabase", True, "supabase.acreate_client supabase.AsyncClient "
              "supabase.create_async_client"),
    *_objects("openai", "llm-client", False, "openai.OpenAI openai.AzureOpenAI anthropic.Anthropic groq.Groq "
              "google.genai.Client mistralai.Mistral"),
    *_objects("openai", "llm-client", True, "openai.AsyncOpenAI openai.AsyncAzureOpenAI anthropic.AsyncAnthropic "
              "groq.AsyncGroq"),
    *_objects("passlib", "password-hasher", False, "passlib.context.CryptContext argon2.PasswordHasher "
              "pwdlib.PasswordHash pwdlib.PasswordHash.recommended"),
    *_objects("pillow", "image", False, "PIL.Image.open PIL.Image.new PIL.Image.frombytes PIL.Image.Image"),
]
OBJECTS: dict[str, LibraryObject] = {obj.name: obj for obj in _ALL}
BY_KIND = {(obj.family, obj.kind, obj.is_async): obj for obj in reversed(_ALL)}

# Derived objects: (family, kind, is_async) of the receiver -> method -> kind of the result.
# "*" means every method of the receiver returns an object of the same family (docker).
DERIVED: dict[tuple[str, str], dict[str, str]] = {
    ("sqlalchemy", "db-engine"): {"connect": "db-connection", "begin": "db-connection"},
    ("sqlalchemy", "db-session-factory"): {"__call__": "db-session", "begin": "db-session"},
    ("psycopg2", "db-connection"): {"cursor": "db-cursor"},
    ("psycopg2", "db-pool"): {"getconn": "db-connection"},
    ("sqlite3", "db-connection"): {"cursor": "db-connection", "execute": "db-connection"},
    ("redis", "redis-client"): {"pipeline": "redis-pipeline"},
    ("asyncpg", "db-pool"): {"acquire": "db-connection"},
    ("docker", "docker"): {"*": "docker"},
    ("boto3", "cloud-client"): {"Table": "cloud-client", "Bucket": "cloud-client", "Object": "cloud-client"},
    ("pillow", "image"): {m: "image" for m in ("resize", "convert", "rotate", "crop", "copy", "transpose",
                                                 "filter", "thumbnail", "quantize", "reduce")},
}
ANNOTATED = {"typing.Annotated", "typing_extensions.Annotated"}
OPTIONAL = {"typing.Optional", "typing_extensions.Optional"}
ASYNC_SESSION_CLASSES = {"sqlalchemy.ext.asyncio.AsyncSession", "sqlmodel.ext.asyncio.session.AsyncSession"}
CACHE_DECORATORS = re.compile(r"(^|\.)(lru_cache|cache|cached|alru_cache|cached_property|memoize)$")


@dataclass(frozen=True)
class Bound:
    """A library object a name is bound to, and where that is decided."""

    obj: LibraryObject
    location: Location  # where it is created (or the parameter annotated)
    how: str  # "created here", "parameter annotated `Session`", "module-level `redis`"
    # Evaluating the expression makes a new object (a constructor, a factory, a function
    # returning a new one), as opposed to reaching a shared one (a global, `self.x`, a
    # parameter, a getter returning a stored client).
    fresh: bool = True


def is_cached_function(fn: FunctionFact) -> bool:
    """`@lru_cache`/`@cache`/`@alru_cache` (with or without arguments): runs once per key."""
    return any(CACHE_DECORATORS.search((d.name or d.text).split("(")[0]) for d in fn.decorators)


class ObjectResolver:
    def __init__(self, project):
        self.project = project
        self._memo: dict[tuple, Bound | None] = {}
        self._locals: dict[str, dict[str, frozenset[str]]] = {}

    def function_locals(self, module: ModuleSummary, scope: str) -> frozenset[str] | None:
        """Local names of a function (recorded by the lifecycle extractor); None if unknown."""
        from prodaudit.model.extractors.lifecycle import FunctionLocals

        table = self._locals.get(module.path)
        if table is None:
            table = {f.scope: frozenset(f.names) for f in module.facts_of(FunctionLocals)}
            self._locals[module.path] = table
        return table.get(scope)

    # -- entry points ------------------------------------------------------------------
    def receiver_of(self, module: ModuleSummary, call: CallFact) -> tuple[Bound, str] | None:
        """The library object a method call is made on, and the method path:
        `db.query(User)` -> (Session, "query"); `client.containers.list()` -> (docker, "containers.list")."""
        written = call.callee.split("(")[0].split("[")[0]
        if "." not in written:
            return None
        parts = written.split(".")
        start = 1
        if parts[0] in ("self", "cls"):
            start = 2
        for cut in range(len(parts) - 1, start - 1, -1):
            receiver = ".".join(parts[:cut])
            bound = self.of_name(module, call.scope, receiver)
            if bound is not None:
                return bound, call.callee[len(receiver) + 1:]
        return None

    def created_by(self, module: ModuleSummary, call: CallFact) -> Bound | None:
        """The library object this call creates: a constructor, a factory's product, an
        object derived from another, or what a project function returns."""
        return self.of_value(module, call.scope, call.as_value())

    # -- names ---------------------------------------------------------------------------
    def of_name(self, module: ModuleSummary, scope: str, name: str, depth: int = 0) -> Bound | None:
        key = ("name", module.path, scope, name)
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = None  # cycles resolve to unknown
        found = self._of_name(module, scope, name, depth)
        self._memo[key] = found
        return found

    def _of_name(self, module: ModuleSummary, scope: str, name: str, depth: int) -> Bound | None:
        if depth > MAX_DEPTH:
            return None
        if name.startswith(("self.", "cls.")) and name.count(".") == 1:
            return _shared(self._of_attribute(module, scope, name, depth))
        head = name.split(".")[0]
        if "." not in name:
            # Python's lookup: the function, enclosing functions, then the module.
            current = scope
            while current:
                fn = module.function(current)
                if fn is not None:
                    found, decided = self._in_function(module, fn, name, depth)
                    if decided:
                        return found
                current = current.rpartition(".")[0]
            return self._global(module, name, depth)
        if head in ("self", "cls"):
            return None
        # `cache.redis_client` through `from app import cache`, `settings.client`, ...
        local_shadow = self._is_local(module, scope, head)
        if local_shadow:
            return None
        fact = module.import_binding(head)
        if fact is not None:
            return _shared(self._symbol(fact.target + name[len(head):], depth))
        return None

    def _is_local(self, module: ModuleSummary, scope: str, name: str) -> bool:
        current = scope
        while current:
            names = self.function_locals(module, current)
            if names is not None and name in names:
                return True
            current = current.rpartition(".")[0]
        return False

    def _in_function(self, module: ModuleSummary, fn: FunctionFact, name: str, depth: int) -> tuple[Bound | None, bool]:
        """(object, decided): decided is True when `name` is local to fn (known or not)."""
        for param in fn.params:
            if param.name == name:
                obj = self.of_annotation(module, param.annotation, depth + 1)
                if obj is None:
                    return None, True
                written = param.annotation.text if param.annotation else ""
                return Bound(obj, Location(module.path, fn.def_line or fn.line),
                             f"parameter `{name}: {written}`", fresh=False), True
        names = self.function_locals(module, fn.qualname)
        if names is not None and name not in names:
            return None, False
        for call in module.calls_in(fn.qualname):
            if call.with_item and call.target == name:
                bound = self.of_value(module, fn.qualname, call.as_value(), depth + 1)
                if bound is not None:
                    return bound, True
        assigned = module.last_assignment(fn.qualname, name)
        if assigned is not None:
            return self.of_value(module, fn.qualname, assigned.value, depth + 1), True
        return None, names is not None

    def _global(self, module: ModuleSummary, name: str, depth: int) -> Bound | None:
        fact = self.project.assignment(module, "", name)
        if fact is not None:
            return _shared(self.of_value(module, "", fact.value, depth + 1))
        for imported in module.imports:
            if imported.local == name and not imported.is_module_import:
                return _shared(self._symbol(imported.target, depth))
        return None

    def _symbol(self, dotted: str, depth: int) -> Bound | None:
        """A module-level object of another project module, through re-exports."""
        found = self.project.resolve_symbol(dotted)
        if found is None:
            return None
        target, rest = found
        fact = self.project.assignment(target, "", rest) if "." not in rest else None
        if fact is None and "." in rest:
            # Class attribute: `Settings.client`.
            cls_name, _, attribute = rest.rpartition(".")
            fact = self.project.assignment(target, cls_name, attribute)
            if fact is not None:
                return self.of_value(target, cls_name, fact.value, depth + 1)
        if fact is None:
            return None
        return self.of_value(target, "", fact.value, depth + 1)

    def _of_attribute(self, module: ModuleSummary, scope: str, name: str, depth: int) -> Bound | None:
        fn = module.function(scope)
        class_name = fn.class_name if fn else ""
        if not class_name and fn is not None and fn.parent:
            parent = module.function(fn.parent)
            class_name = parent.class_name if parent else ""
        if not class_name:
            return None
        candidates = [f for f in module.assignments_to(name) if f.scope.startswith(class_name + ".")]
        # Prefer what __init__ sets; a lazy `self.x = X()` elsewhere is the same object kind.
        candidates.sort(key=lambda f: (not f.scope.endswith(".__init__"), f.line))
        for fact in candidates:
            bound = self.of_value(module, fact.scope, fact.value, depth + 1)
            if bound is not None:
                return bound
        # Class-level annotation `client: httpx.AsyncClient` in the class body.
        for fact in module.assignments_to(name.split(".", 1)[1]):
            if fact.scope == class_name and fact.annotation:
                obj = self.of_annotation(module, fact.annotation, depth + 1)
                if obj is not None:
                    return Bound(obj, Location(module.path, fact.line), f"attribute `{name}` annotated",
                                 fresh=False)
        return None

    # -- values --------------------------------------------------------------------------
    def of_value(self, module: ModuleSummary, scope: str, value: Value | None, depth: int = 0) -> Bound | None:
        if value is None or depth > MAX_DEPTH:
            return None
        if value.kind == "await" and value.items:
            return self.of_value(module, scope, value.items[0], depth + 1)
        if value.kind in ("name", "attr"):
            return self.of_name(module, scope, value.text, depth + 1)
        if value.kind != "call":
            return None
        where = Location(module.path, value.line)
        obj = OBJECTS.get(value.name)
        if obj is not None:
            if obj.kind == "db-session-factory" and not obj.is_async:
                cls = value.keyword("class_")
                if cls is not None and cls.name in ASYNC_SESSION_CLASSES:
                    obj = BY_KIND[("sqlalchemy", "db-session-factory", True)]
            if obj.kind == "db-session" and value.name in ASYNC_SESSION_CLASSES:
                obj = BY_KIND[("sqlalchemy", "db-session", True)]
            return Bound(obj, where, f"`{value.text.split('(')[0]}(...)` created here")
        written = value.text.split("(")[0]
        if "[" in written:
            return None
        # A factory called: `SessionLocal()`.
        factory = self.of_name(module, scope, written, depth + 1) if written else None
        if factory is not None:
            product = self._derived(factory.obj, "__call__")
            if product is not None:
                return Bound(product, where, f"`{written}()` (a {factory.obj.label}) creates it here")
        # Derived: `engine.connect()`, `conn.cursor()`, `client.containers.get(...)`.
        if "." in written:
            receiver, _, method = written.rpartition(".")
            base = self.of_name(module, scope, receiver, depth + 1)
            if base is not None:
                product = self._derived(base.obj, method)
                if product is not None:
                    return Bound(product, where, f"`{written}()` returns it here")
                return None
        # A project function that returns one: `get_redis()`.
        return self._returned_by(module, scope, written, value.name, depth)

    def _derived(self, obj: LibraryObject, method: str) -> LibraryObject | None:
        methods = DERIVED.get((obj.family, obj.kind), {})
        kind = methods.get(method) or methods.get("*")
        if kind is None:
            return None
        return BY_KIND.get((obj.family, kind, obj.is_async)) or BY_KIND.get((obj.family, kind, False))

    def _returned_by(self, module: ModuleSummary, scope: str, written: str, resolved: str, depth: int) -> Bound | None:
        graph = self.project.callgraph
        key = graph.resolve_call(module, scope, written, resolved)
        node = graph.nodes.get(key) if key else None
        if node is None or node.fact.has_yield or node.fact.class_name and node.fact.name == "__init__":
            return None
        for returned in node.fact.return_values:
            bound = self.of_value(node.module, node.fact.qualname, returned, depth + 1)
            if bound is not None:
                return bound
        return None

    # -- annotations -----------------------------------------------------------------------
    def of_annotation(self, module: ModuleSummary, value: Value | None, depth: int = 0) -> LibraryObject | None:
        if value is None or depth > MAX_DEPTH:
            return None
        if value.kind == "subscript":
            if value.name in ANNOTATED or value.name in OPTIONAL:
                return self.of_annotation(module, value.items[0] if value.items else None, depth + 1)
            return None
        if value.kind == "binop" and value.name == "BitOr":
            found = [self.of_annotation(module, item, depth + 1) for item in value.items]
            found = [f for f in found if f is not None]
            return found[0] if len(found) == 1 else None
        if value.kind not in ("name", "attr"):
            return None
        obj = OBJECTS.get(value.name)
        if obj is not None:
            return obj
        # A type alias: `SessionDep = Annotated[Session, Depends(get_db)]`, maybe imported.
        target = self.project.resolve_symbol(value.name) if "." in value.name else (module, value.name)
        if target is None:
            return None
        alias = self.project.assignment(target[0], "", target[1])
        if alias is not None and alias.value is not None and alias.value.kind == "subscript":
            return self.of_annotation(target[0], alias.value, depth + 1)
        return None


def _shared(bound: Bound | None) -> Bound | None:
    return replace(bound, fresh=False) if bound is not None and bound.fresh else bound
