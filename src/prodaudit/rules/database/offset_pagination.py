from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Confidence, Dimension, Evidence, Finding, Location, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

OFFSET_PARAM = re.compile(r"^(offset|skip|start|page|page_number|page_num|from_)$", re.IGNORECASE)


@register
class OffsetPagination(ProjectRule):
    """
    ## What it does
    Finds `.offset(x)` (or `.slice(a, b)`) with a non-constant offset on an ORM query that
    HTTP routes or bot handlers reach: page N of a list is read by skipping N x size rows.

    ## Why is this bad?
    The database still reads and discards every skipped row, so page 1,000 of a 50-row
    listing costs 50,000 rows read; deep pages get slower as the table grows, and rows
    inserted between two requests shift the pages (duplicates or gaps). For small tables
    or shallow pages this is fine, hence the low severity: it matters for large, growing
    tables (feeds, history, catalogues) that clients page through deeply.

    ## Example
    ```python
    from fastapi import FastAPI
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Post(Base):
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]


    app = FastAPI()
    session: AsyncSession


    @app.get("/posts")
    async def list_posts(offset: int = 0):
        stmt = select(Post).order_by(Post.id).offset(offset).limit(20)
        return list((await session.scalars(stmt)).all())
    ```

    ## Use instead
    ```python
    from fastapi import FastAPI
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


    class Base(DeclarativeBase):
        pass


    class Post(Base):
        __tablename__ = "posts"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]


    app = FastAPI()
    session: AsyncSession


    @app.get("/posts")
    async def list_posts(after_id: int = 0):
        stmt = select(Post).where(Post.id > after_id).order_by(Post.id).limit(20)
        return list((await session.scalars(stmt)).all())
    ```

    ## Known limitations
    Table sizes are unknown: a small table paged by offset is reported too (at low
    severity). Offsets computed by helpers outside the statement chain are not seen.
    """

    needs = ("orm_loops", "orm_queries")
    meta = RuleMeta(
        id="PA304", slug="offset-pagination", family="database",
        dimension=Dimension.PERFORMANCE, severity=Severity.LOW, confidence=Confidence.MEDIUM,
        summary=".offset() driven by a request parameter: deep pages read and discard every "
                "skipped row; keyset pagination scales",
        effort_minutes=60, technology=("sqlalchemy",),
        fix="Use keyset (cursor) pagination: WHERE (sort_key, id) > (:last_key, :last_id) "
            "ORDER BY sort_key, id LIMIT :n, with an index on the sort key.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        queries = project.queries
        for site in queries.sites:
            fact = site.fact
            part = fact.part("offset") or fact.part("slice")
            if part is None or not part.args or all(a.kind == "const" for a in part.args):
                continue
            if fact.kind not in ("select", "query") or not queries.reached(site.key):
                continue
            model = queries.entity_model(site)
            if model is None:
                continue
            evidence = [Evidence(site.location, f"`select({model.name})` on table `{model.table}`")]
            evidence += self.request_parameters(project, site)
            evidence += queries.reach_evidence(site.key)
            shown = ", ".join(a.text for a in part.args)
            yield self.finding(
                f"Offset pagination on `{model.table}`: `.{part.method}({shown})` reads and "
                f"discards every skipped row, so deep pages slow down as the table grows "
                f"(fine for small tables)",
                Location(site.module.path, part.line), evidence=evidence,
                anchor=f"{site.key}:offset")

    @staticmethod
    def request_parameters(project, site) -> list[Evidence]:
        """The route parameter that feeds the offset, when the handler has one by name."""
        found = project.queries.reached(site.key)
        if found is None:
            return []
        label, path = found
        entry = path[0].caller if path else site.key
        node = project.callgraph.nodes.get(entry)
        if node is None:
            return []
        for param in node.fact.params:
            if OFFSET_PARAM.match(param.name):
                line = (param.default.line if param.default is not None and param.default.line
                        else node.fact.def_line or node.fact.line)
                return [Evidence(Location(node.module.path, line),
                                 f"request parameter `{param.name}` of {label}")]
        return []
