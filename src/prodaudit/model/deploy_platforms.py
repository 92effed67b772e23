"""Procfile, fly.toml, render.yaml, app.json and k8s manifests."""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from dataclasses import replace

from prodaudit.findings import Location
from prodaudit.model.deploy_commands import _Env, _Origin
from prodaudit.model.deploy_compose import (
    _int,
    _items,
    _line,
    _map,
    _scalar,
    _yaml_documents,
    _yaml_env,
)
from prodaudit.model.deploy_reader import _Reader
from prodaudit.model.deploy_records import EnvBinding, K8sWorkload, ServerProcess, Service

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
