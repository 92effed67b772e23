"""JSON sections for model facts that are plain frozen dataclasses (deployment,
dependencies): converted field by field, locations as "path:line"."""

from __future__ import annotations

import dataclasses

from prodaudit.findings import Location


def to_json(value):
    if isinstance(value, Location):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def deployment_json(project) -> dict:
    section = to_json(project.deployment)
    workers = project.workers
    section["effective_workers"] = {"count": workers.count, "source": workers.source,
                                    "location": str(workers.location) if workers.location else ""}
    section["startup_requirements"] = to_json(project.startup_requirements)
    return section


def dependencies_json(project) -> dict:
    return to_json(project.dependencies)


def settings_json(project) -> dict:
    model = project.settings
    return {
        "engines": to_json(model.engines()),
        "fields": to_json(model.fields()),
        "secret_fields": to_json(model.secret_fields()),
    }


def orm_json(project) -> dict:
    orm = project.orm
    return {"models": to_json(orm.models), "tables": to_json(orm.tables),
            "foreign_keys": to_json(orm.foreign_keys()), "migration_ops": len(orm.migrations),
            "notes": list(orm.notes)}
