from __future__ import annotations

from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Location, Severity
from prodaudit.model.module_attributes import find_missing_attributes
from prodaudit.rules.base import ProjectRule, RuleMeta, register


@register
class MissingModuleAttribute(ProjectRule):
    """
    ## What it does
    Finds names taken from project modules that do not define them: `from pkg.mod import
    name` where `pkg/mod.py` has no def, class, assignment or import of `name`, and
    `mod.name` read through an imported project module. A package that hides a module
    file of the same name (`api/projects/` next to `api/projects.py`: Python imports the
    package) is followed the way Python does.

    ## Why is this bad?
    A missing name in a module-level import is an `ImportError` when the module is
    imported: if that module is the app, the service does not start (seed 000/002: a
    router imported from a module the package of the same name hides, so the app as
    shipped could not be imported). In a function or an attribute read, it is an
    `ImportError`/`AttributeError` each time that code runs, often in an error path.

    ## Example
    ```python
    # example.py: a payments module whose callers go through the module name
    import example


    def charge(order):
        return order


    def cancel(order):
        return example.refund(order)
    ```

    ## Use instead
    ```python
    # example.py
    import example


    def charge(order):
        return order


    def refund(order):
        return order


    def cancel(order):
        return example.refund(order)
    ```

    ## Known limitations
    Silent for modules whose namespace is dynamic (`globals()`, `exec`, module
    `__getattr__`, star imports, attributes set from other modules), imports under
    try/except ImportError or `if TYPE_CHECKING`, reads under `hasattr`/`try`, and
    lowercase names missing from a package (they may be submodules generated at build
    time) unless a hidden module file shows what was meant. Names that resolve ambiguously
    (two modules of that dotted name, or a standard/third-party name) are not judged.
    """

    needs = ("name_bindings",)
    meta = RuleMeta(
        id="PA511", slug="missing-module-attribute", family="reliability",
        dimension=Dimension.RELIABILITY, severity=Severity.HIGH,
        summary="name imported from / read on a project module that does not define it",
        effort_minutes=10,
        fix="Import the name from the module that defines it (or define it there).",
    )

    def check_project(self, project) -> Iterator[Finding]:
        for missing in find_missing_attributes(project):
            module = missing.module.summary
            where = f"`{missing.scope}`" if missing.scope else "module import"
            if missing.how == "import":
                when = (f"ImportError each time `{missing.scope}` runs" if missing.scope
                        else f"ImportError as soon as {missing.location.path} is imported")
            else:
                when = f"AttributeError each time this line runs ({where})"
            shown = module.path if not module.is_package else module.path.rsplit("/", 1)[0] + "/"
            evidence = [Evidence(Location(module.path, 0),
                                 f"{shown} binds no `{missing.name}` (no def, class, assignment "
                                 f"or import)")]
            if missing.module.shadowed is not None:
                hidden = missing.shadowed_definition or Location(missing.module.shadowed.path, 0)
                evidence.append(Evidence(hidden, f"{missing.module.shadowed.path} defines it, but the "
                                                 f"package {shown} hides that file"))
                shown = f"the package {shown} (which hides {missing.module.shadowed.path})"
            yield self.finding(
                f"`{missing.written}`: {shown} defines no `{missing.name}`: {when}",
                missing.location, evidence=evidence,
                anchor=f"{missing.location.path}->{module.module}.{missing.name}",
            )
