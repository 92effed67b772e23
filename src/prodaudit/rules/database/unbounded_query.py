from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.routes import ANNOTATED
from prodaudit.rules.base import ProjectRule, RuleMeta, register
from prodaudit.rules.database.tables import is_lookup_table, is_user_table

PAGE_SIZE_PARAM = re.compile(r"^(limit|page_size|pagesize|per_page|perpage|size|page_limit|"
                             r"take|top|max_results|max_items|count|n_items|batch_size)$", re.IGNORECASE)
BOUND_KEYWORDS = ("le", "lt", "max_value")
PARAM_FUNCS = frozenset({"fastapi.Query", "fastapi.Path", "fastapi.Body", "fastapi.Form",
                         "pydantic.Field", "fastapi.params.Query", "Query", "Field"})
BOUNDED_TYPES = re.compile(r"(conint|PositiveInt|NonNegativeInt|Literal)")
NO_DEFAULT_LIMIT = (None, 0, -1)


@register
class UnboundedQuery(ProjectRule):
    """
    ## What it does
    In code that HTTP routes or bot handlers reach, finds:
    1. list queries (`.all()`, `.scalars().all()`, iterated results) with no `.limit()`,
       unless they are bounded by their filters (`.in_(ids)`, equality on a primary or
       unique key);
    2. page-size request parameters with no upper bound (`limit: int = 100` with no
       `le=` in `Query()`/`Field()`), when the route feeds a `.limit()`;
    3. a limit that is applied only conditionally (`if limit: stmt = stmt.limit(limit)`)
       while the parameter defaults to `None`/`0`/`-1`, so callers that omit it read
       every row.

    ## Why is this bad?
    The response size, the memory the worker needs and the query time all grow with
    the table: a user with 100,000 history rows gets them all in one response, and a
    client can send `?limit=10000000`. One such request can stall a worker for every
    other user it serves.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Message(Base):
        __tablename__ = "messages"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(index=True)


    app = FastAPI()
    session: AsyncSession


    @app.get("/history/{user_id}")
    async def history(user_id: int):
        stmt = select(Message).where(Message.user_id == user_id).order_by(Message.id.desc())
        return list((await session.scalars(stmt)).all())
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI, Query
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Message(Base):
        __tablename__ = "messages"
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(index=True)


    app = FastAPI()
    session: AsyncSession


    @app.get("/history/{user_id}")
    async def history(user_id: int, limit: int = Query(50, ge=1, le=200)):
        stmt = (select(Message).where(Message.user_id == user_id)
                .order_by(Message.id.desc()).limit(limit))
        return list((await session.scalars(stmt)).all())
    ```

    ## Known limitations
    Table sizes are unknown; reference tables recognised by name (roles, categories,
    tags...) are reported at low severity. Limits applied by a helper outside the statement
    chain, or results cut after fetching, are not seen. A page size bounded by a validator
    (rather than `le=`) is not recognised.
    """

    needs = ("orm_loops", "orm_queries")
    meta = RuleMeta(
        id="PA305", slug="unbounded-query", family="database",
        dimension=Dimension.PERFORMANCE, severity=Severity.MEDIUM, confidence=Confidence.MEDIUM,
        summary="list query with no limit in a request path; page-size parameter without an "
                "upper bound; limit that a default removes",
        effort_minutes=30, technology=("sqlalchemy", "fastapi"),
        fix="Add .limit() with a bounded page size (Query(50, ge=1, le=200)) and paginate.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        yield from self.unlimited_lists(project)
        yield from self.unbounded_page_sizes(project)
        yield from self.optional_limits(project)

    # -- 1. list queries with no limit -----------------------------------------------------------
    def unlimited_lists(self, project) -> Iterator[Finding]:
        queries = project.queries
        for site in queries.sites:
            fact = site.fact
            if fact.kind not in ("select", "query") or fact.fetch != "many":
                continue
            if fact.has("limit", "slice", "fetch", "group_by", "distinct") or not queries.reached(site.key):
                continue
            model = self.row_model(project, site)
            if model is None or self.bounded_by_filters(project, site, model):
                continue
            lookup = is_lookup_table(model.table)
            parent = self.one_parent(project, site, model)
            filtered = sorted({f"{f.column.model}.{f.column.attribute}" for f in fact.filters
                               if f.clause in ("where", "filter", "filter_by")})
            scope = f" filtered by {', '.join(filtered)}" if filtered else ""
            evidence = [Evidence(Location(site.module.path, fact.executed_line or fact.line),
                                 "all rows fetched here")]
            evidence += queries.reach_evidence(site.key)
            growth = (f"bounded only by the size of one `{parent}` row's collection" if parent
                      else "a reference table, small unless it grows" if lookup
                      else "growing with the table")
            yield self.finding(
                f"Query on `{model.table}`{scope} has no `.limit()`: every matching row is loaded "
                f"into memory and returned on each request, {growth}",
                site.location, severity=Severity.LOW if lookup or parent else Severity.MEDIUM,
                evidence=evidence, anchor=f"{site.key}:{model.name}:no-limit")

    @staticmethod
    def one_parent(project, site, model) -> str | None:
        """The parent table when the rows are the children of one catalogue row
        (`episodes` of one `release`); None when they belong to a user (history, orders),
        which grows with the user's activity, or when unfiltered."""
        for flt in site.fact.filters:
            if flt.op != "eq" or flt.clause not in ("where", "filter", "filter_by"):
                continue
            column = model.column(flt.column.attribute)
            if column is None or not column.foreign_key:
                continue
            parent = column.foreign_key.rpartition(".")[0]
            if parent and not is_user_table(parent):
                return parent
        return None

    @staticmethod
    def row_model(project, site):
        queries = project.queries
        model = queries.entity_model(site)
        if model is not None:
            return model
        # select(Book.id, Book.title): columns of one model
        models = {queries.model_of(site.module, e.text.rsplit(".", 1)[0], e.name.rsplit(".", 1)[0])
                  for e in site.fact.entities if e.kind == "attr"}
        models.discard(None)
        if len(models) == 1 and all(e.kind == "attr" for e in site.fact.entities):
            return models.pop()
        return None

    @staticmethod
    def bounded_by_filters(project, site, model) -> bool:
        """`.in_(ids)` bounds the rows by the list; equality on every column of a primary or
        unique key returns at most one row."""
        orm = project.orm
        equal = set()
        for flt in site.fact.filters:
            if flt.clause not in ("where", "filter", "filter_by"):
                continue
            if flt.op == "in":
                return True
            if flt.op == "eq":
                column = model.column(flt.column.attribute)
                if column is not None:
                    equal.add(column.name)
        if not equal or not model.table:
            return False
        keys = [set(pk) for pk in orm.primary_keys(model.table)]
        keys += [set(i.columns) for i in orm.indexes(model.table) if i.unique]
        return any(key and key <= equal for key in keys)

    # -- 2. page-size parameters without an upper bound ---------------------------------------------
    def unbounded_page_sizes(self, project) -> Iterator[Finding]:
        graph = project.callgraph
        seen: set[str] = set()
        for endpoint in project.routes.endpoints:
            handler = endpoint.handler
            if handler is None or handler.key in seen:
                continue
            node = graph.nodes.get(handler.key)
            if node is None:
                continue
            seen.add(handler.key)
            params = [p for p in node.fact.params if PAGE_SIZE_PARAM.match(p.name)
                      and self.is_int(p) and not self.bounded(p)]
            if not params:
                continue
            limited = self.limited_queries(project, handler.key)
            if not limited:
                continue
            for param in params:
                line = (param.default.line if param.default is not None and param.default.line
                        else node.fact.def_line or node.fact.line)
                default = self.default_text(param)
                evidence = [Evidence(site.location, "`.limit()` of this query takes it")
                            for site in limited[:3]]
                yield self.finding(
                    f"Page-size parameter `{param.name}`{default} of {endpoint.label} has no upper "
                    f"bound: a client can ask for `?{param.name}=1000000` and load the whole table "
                    f"in one request",
                    Location(node.module.path, line), evidence=evidence,
                    anchor=f"{handler.key}:{param.name}",
                    fix=f"Bound it: {param.name}: int = Query(50, ge=1, le=200).")

    @staticmethod
    def limited_queries(project, entry: str) -> list:
        """Queries reached from this handler whose `.limit()` takes a variable."""
        graph = project.callgraph
        reach = graph.reachable({entry: "entry"}, kinds=("call", "depends", "thread"), max_depth=6)
        found = []
        for site in project.queries.sites:
            if site.key in reach:
                part = site.fact.part("limit")
                if part is not None and part.args and part.args[0].kind != "const":
                    found.append(site)
        return found

    @staticmethod
    def is_int(param) -> bool:
        annotation = param.annotation
        if annotation is None:
            default = param.default
            return default is not None and isinstance(default.const, int) and not isinstance(default.const, bool)
        text = annotation.text
        if annotation.kind == "subscript" and annotation.name in ANNOTATED and annotation.items:
            text = annotation.items[0].text
        return re.fullmatch(r"(int|Optional\[int\]|int\s*\|\s*None|None\s*\|\s*int)", text.strip()) is not None

    @staticmethod
    def bounded(param) -> bool:
        values = [param.default] if param.default is not None else []
        if param.annotation is not None:
            if BOUNDED_TYPES.search(param.annotation.text):
                return True
            if param.annotation.kind == "subscript":
                values.extend(param.annotation.items[1:])
        for value in values:
            if value is None:
                continue
            if value.kind == "call" and not (value.name in PARAM_FUNCS or value.name.endswith((".Query", ".Field"))):
                return True  # Depends(...) or something else that decides the value
            if value.kind == "call" and any(value.keyword(k) is not None for k in BOUND_KEYWORDS):
                return True
        return False

    @staticmethod
    def default_text(param) -> str:
        default = param.default
        if default is None:
            return ""
        if default.kind == "const":
            return f" (default {default.const})"
        if default.kind == "call" and default.items and default.items[0].kind == "const":
            return f" (default {default.items[0].const})"
        return ""

    # -- 3. a limit that a default removes ---------------------------------------------------------
    def optional_limits(self, project) -> Iterator[Finding]:
        queries = project.queries
        for site in queries.sites:
            fact = site.fact
            part = fact.part("limit")
            if part is None or not part.conditional or not part.args or part.args[0].kind != "name":
                continue
            name = part.args[0].text
            if name not in part.condition or not queries.reached(site.key):
                continue
            fn = site.module.function(fact.scope)
            param = next((p for p in fn.params if p.name == name), None) if fn else None
            if param is None or param.default is None or param.default.kind != "const" \
                    or param.default.const not in NO_DEFAULT_LIMIT:
                continue
            omitting = self.callers_omitting(project, site.key, fn, name)
            if omitting is not None and not omitting:
                continue  # every caller passes a limit
            evidence = [Evidence(Location(site.module.path, fn.def_line or fn.line),
                                 f"`{name}` defaults to {param.default.const!r}")]
            evidence += [Evidence(where, "called here without a limit") for where in (omitting or [])[:3]]
            evidence += queries.reach_evidence(site.key)
            yield self.finding(
                f"`.limit({name})` is applied only under `if {part.condition}:`; `{name}` defaults to "
                f"{param.default.const!r}, so callers that omit it read every row",
                Location(site.module.path, part.line), evidence=evidence,
                anchor=f"{site.key}:{name}:optional-limit")

    @staticmethod
    def callers_omitting(project, key: str, fn, name: str) -> list[Location] | None:
        """Call sites (in request paths) that do not pass `name`; None when no caller is known."""
        graph, queries = project.callgraph, project.queries
        index = [p.name for p in fn.params if p.kind in ("posonly", "arg")]
        position = index.index(name) if name in index else None
        if position is not None and index and index[0] in ("self", "cls"):
            position -= 1
        callers = []
        for caller_key, edges in graph.edges_from.items():
            if not queries.reached(caller_key):
                continue
            for edge in edges:
                if edge.callee != key:
                    continue
                caller = graph.nodes.get(caller_key)
                calls = [c for c in caller.module.calls if c.line == edge.line
                         and c.callee.rsplit(".", 1)[-1] == fn.name] if caller else []
                if not calls:
                    continue
                call = calls[0]
                passes = call.keyword(name) is not None or call.has_star_args or (
                    position is not None and len(call.args) > position)
                callers.append((edge.location, passes))
        if not callers:
            return None
        return [where for where, passes in callers if not passes]
