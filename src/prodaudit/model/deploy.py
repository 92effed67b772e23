"""Deployment facts: which server runs the app, with how many workers, next to what services.

Everything is read as text (YAML nodes, TOML, JSON, shell words, Python syntax trees); no
audited file is imported or executed. Numbers are only reported when they are written in
the repository: a worker count that comes from an unset variable or from the machine's
CPU count is None, and `workers_source` says which variable or expression decided it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from prodaudit.findings import Location
from prodaudit.model.deploy_commands import _Env, _Origin
from prodaudit.model.deploy_compose import _Compose
from prodaudit.model.deploy_dockerfile import _Image, _image_servers, _read_dockerfile
from prodaudit.model.deploy_platforms import _app_json, _fly, _k8s, _procfile, _render
from prodaudit.model.deploy_reader import _Reader
from prodaudit.model.deploy_records import (
    MAX_COMMAND_TEXT,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    TASK_SERVERS,
    WEB_SERVERS,
    BaseImage,
    Deployment,
    DockerfileFacts,
    EnvBinding,
    K8sWorkload,
    ServerProcess,
    Service,
)

# The reading is split across sibling modules (deploy_records, deploy_commands,
# deploy_reader, deploy_dockerfile, deploy_compose, deploy_platforms); this module is the
# public entry point and re-exports the records callers use.
__all__ = [
    "MAX_COMMAND_TEXT", "MAX_DEPTH", "MAX_FILE_BYTES", "TASK_SERVERS", "WEB_SERVERS",
    "BaseImage", "Deployment", "DockerfileFacts", "EnvBinding", "K8sWorkload",
    "ServerProcess", "Service", "read_deployment",
]


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
