"""YAML with line numbers, and docker compose files."""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace

import yaml

from prodaudit.findings import Location
from prodaudit.model.deploy_commands import _dotenv_bindings, _Env, _Origin, _words
from prodaudit.model.deploy_dockerfile import _Image, _image_servers
from prodaudit.model.deploy_reader import _Reader
from prodaudit.model.deploy_records import (
    MAX_DEPTH,
    TASK_SERVERS,
    EnvBinding,
    ServerProcess,
    Service,
)

# -- YAML with line numbers ------------------------------------------------------------

def _yaml_documents(reader: _Reader, path: str) -> list[yaml.Node]:
    text = reader.text(path)
    if text is None:
        return []
    try:
        return [doc for doc in yaml.compose_all(text, Loader=yaml.SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
        reader.note(f"{path}: not valid YAML{where} ({problem}); not read")
    except RecursionError:
        reader.note(f"{path}: YAML nested too deeply; not read")
    return []


def _map(node: yaml.Node | None, depth: int = 0) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Mapping key -> (key node, value node), with `<<: *anchor` merge keys applied."""
    if not isinstance(node, yaml.MappingNode) or depth > MAX_DEPTH:
        return {}
    merged: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    own: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        if key.tag == "tag:yaml.org,2002:merge":
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in reversed(sources):  # earlier sources win in a merge sequence
                merged.update(_map(source, depth + 1))
        elif isinstance(key, yaml.ScalarNode):
            own[key.value] = (key, value)
    return {**merged, **own}


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":null"):
        return node.value
    return None


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _int(text: str | None) -> int | None:
    return int(text) if text is not None and text.strip().isdigit() else None


def _command_value(node: yaml.Node | None) -> str | list[str] | None:
    if isinstance(node, yaml.SequenceNode):
        return [_scalar(item) or "" for item in node.value]
    return _scalar(node)


def _yaml_env(path: str, node: yaml.Node | None, origin: str) -> list[EnvBinding]:
    """compose `environment:` / k8s `env:` / render `envVars:`, mapping or list form."""
    out = []
    for name, (key, value) in _map(node).items():
        out.append(EnvBinding(name, _scalar(value), Location(path, _line(key)), origin))
    for item in _items(node):
        fields = _map(item)
        if fields:  # k8s {name, value|valueFrom} or render {key, value|fromDatabase}
            name = _scalar((fields.get("name") or fields.get("key") or (None, None))[1])
            value_node = (fields.get("value") or (None, None))[1]
            if name:
                out.append(EnvBinding(name, _scalar(value_node), Location(
                    path, _line(value_node if value_node is not None else item)), origin))
        elif (text := _scalar(item)) is not None:
            name, sep, value = text.partition("=")
            out.append(EnvBinding(name.strip(), value if sep else None,
                                  Location(path, _line(item)), origin))
    return out


# -- docker compose --------------------------------------------------------------------

_KIND_WORDS = (("postgres", ("postgres", "postgresql", "postgis", "timescaledb", "pgvector")),
               ("mysql", ("mysql", "mariadb", "percona")),
               ("redis", ("redis", "valkey", "keydb", "dragonfly")),
               ("rabbitmq", ("rabbitmq",)), ("mongo", ("mongo", "mongodb")),
               ("nginx", ("nginx", "openresty")))
# Tools named after the server they watch or manage ("postgres-exporter") are not it.
_TOOL_WORDS = frozenset({"exporter", "commander", "admin", "ui", "insight", "backup",
                         "operator", "express", "adminer"})
_TASK_WORDS = re.compile(r"\b(celery|arq|dramatiq|rq|taskiq|huey)\b")
_MAX_CONNECTIONS = re.compile(r"(?:-c|--)?max[_-]connections=(\d+)")
_CONF_MAX_CONNECTIONS = re.compile(r"^\s*max_connections\s*=\s*'?(\d+)", re.MULTILINE)
Fields = dict[str, tuple[str, yaml.Node]]  # compose key -> (file it is written in, value)


def _image_kind(image: str) -> str:
    repository = image.lower().split("@")[0].rsplit("/", 1)[-1].split(":")[0]
    parts = re.split(r"[-_.]", repository)
    if _TOOL_WORDS.intersection(parts):
        return ""
    for kind, words in _KIND_WORDS:
        if parts[0] in words:
            return kind
    return ""


class _Compose:
    def __init__(self, reader: _Reader, images: dict[str, _Image]):
        self.reader, self.images = reader, images
        self._services: dict[str, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def services_of(self, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if path not in self._services:
            documents = _yaml_documents(self.reader, path) if path in self.reader.file_set \
                else []
            top = _map(documents[0]) if documents else {}
            if documents and not top:
                self.reader.note(f"{path}: not a mapping at the top; not read")
            self._services[path] = _map(top["services"][1]) if "services" in top else {}
        return self._services[path]

    def fields(self, path: str, name: str, seen: frozenset = frozenset()
               ) -> tuple[Fields, list[tuple[str, yaml.Node]]]:
        """A service's keys with `extends:` applied; environments are kept per level."""
        own = {key: (path, value) for key, (_, value) in
               _map(self.services_of(path)[name][1]).items()}
        environments = [own.pop("environment")] if "environment" in own else []
        extends = own.pop("extends", None)
        if extends is None:
            return own, environments
        spec = _map(extends[1])
        base_name = _scalar(extends[1]) or _scalar((spec.get("service") or (None, None))[1])
        base_file = _scalar((spec.get("file") or (None, None))[1])
        base_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), base_file)) \
            if base_file else path
        if not base_name or (base_path, base_name) in seen \
                or base_name not in self.services_of(base_path):
            self.reader.note(f"{path}: service {name} extends {base_name} in {base_path}, "
                             "which could not be found; its own keys only")
            return own, environments
        base, base_environments = self.fields(base_path, base_name,
                                              seen | {(path, name)})
        return {**base, **own}, base_environments + environments

    def read(self, path: str) -> tuple[list[Service], list[ServerProcess]]:
        services, servers = [], []
        directory = posixpath.dirname(path)
        for name, (key, _) in self.services_of(path).items():
            fields, environments = self.fields(path, name)
            service, found = self.service(path, directory, name, Location(path, _line(key)),
                                          fields, environments)
            services.append(service)
            servers.extend(found)
        return services, servers

    def service(self, path: str, directory: str, name: str, where: Location, fields: Fields,
                environments: list[tuple[str, yaml.Node]]
                ) -> tuple[Service, list[ServerProcess]]:
        def get(key: str) -> yaml.Node | None:
            return (fields.get(key) or ("", None))[1]
        image_name = _scalar(get("image")) or ""
        image = self.built_image(path, directory, name, get("build"))
        env = self.environment(directory, environments, get("env_file"), image)
        replicas_node = _map(get("deploy")).get("replicas", (None, get("scale")))[1]
        replicas = _int(_scalar(replicas_node))
        replicas_at = Location(fields.get("deploy", fields.get("scale", (path,)))[0],
                               _line(replicas_node)) if replicas is not None else None
        # A service built from `FROM nginx:...` is an nginx as much as `image: nginx` is.
        kind = _image_kind(image_name) or (_image_kind(image.base) if image else "")
        # Compose writes a literal $ as $$; the container's shell then expands it.
        command, entrypoint = (_unescape(_command_value(get("command"))),
                               _unescape(_command_value(get("entrypoint"))))
        servers: list[ServerProcess] = []
        if not kind and (command or entrypoint):
            node = get("command") if command else get("entrypoint")
            origin = _Origin(f"{path} service {name} {'command' if command else 'entrypoint'}",
                             Location(fields["command" if command else "entrypoint"][0],
                                      _line(node)), name, context_dir=directory)
            if entrypoint and command:
                words = (_words(entrypoint) or [] if isinstance(entrypoint, str) else entrypoint)
                words += _words(command) or [] if isinstance(command, str) else command
                servers = self.reader.servers(words, origin, env)
            else:
                servers = self.reader.servers(command or entrypoint or "", origin, env)
        elif not kind and image is not None:
            servers = _image_servers(self.reader, image, env, name)
        servers = [replace(s, replicas=replicas, replicas_location=replicas_at)
                   for s in servers]
        command_text = " ".join(command) if isinstance(command, list) else command or ""
        if not kind:
            kind = ("app" if any(s.is_web for s in servers) else
                    "worker" if any(s.server in TASK_SERVERS for s in servers)
                    or _TASK_WORDS.search(command_text) else
                    "app" if image is not None or get("build") is not None else "other")
        health = _map(get("healthcheck"))
        test = _command_value((health.get("test") or (None, None))[1])
        has_health = bool(health) and _scalar((health.get("disable") or (None, None))[1]) \
            != "true" and test not in (["NONE"], "NONE")
        limit, limit_at = self.max_connections(kind, fields, command, directory)
        service = Service(
            name, image_name, get("build") is not None, kind,
            has_health or bool(image and image.facts.has_healthcheck),
            tuple(_short_form(item, ("published", "target")) for item in _items(get("ports"))),
            tuple(_short_form(item, ("source", "target")) for item in _items(get("volumes"))),
            tuple([_scalar(item) or "" for item in _items(get("depends_on"))]
                  + list(_map(get("depends_on")))),
            where, limit, limit_at, _scalar(get("user")) or "", _scalar(get("restart")) or "",
            replicas, replicas_at)
        return service, servers

    def built_image(self, path: str, directory: str, name: str, build: yaml.Node | None
                    ) -> _Image | None:
        if build is None:
            return None
        spec = _map(build)
        context = _scalar(build) or _scalar((spec.get("context") or (None, None))[1]) or "."
        dockerfile = _scalar((spec.get("dockerfile") or (None, None))[1]) or "Dockerfile"
        if "://" in context or "$" in context + dockerfile:
            return None
        target = posixpath.normpath(posixpath.join(directory, context, dockerfile))
        if target not in self.images and target not in self.reader.file_set:
            self.reader.note(f"{path}: service {name} builds {target}, which is not in the "
                             "repository")
        return self.images.get(target)

    def environment(self, directory: str, environments: list[tuple[str, yaml.Node]],
                    env_file: yaml.Node | None, image: _Image | None) -> _Env:
        """Container env first, then .env. Compose itself interpolates $VAR in `command:`
        from the host shell and .env only; resolving it against `environment:` as well is
        a deliberate approximation: those values are in the repository, the host's are not."""
        layers: list[tuple[EnvBinding, ...]] = []
        for file_path, node in reversed(environments):  # the service's own level first
            layers.append(tuple(_yaml_env(file_path, node, file_path)))
        references = [_scalar(env_file)] + [
            _scalar(item) or _scalar((_map(item).get("path") or (None, None))[1])
            for item in _items(env_file)]
        for reference in filter(None, references):
            target = posixpath.normpath(posixpath.join(directory, reference))
            text = self.reader.text(target) if target in self.reader.file_set else None
            if text is None and target not in self.reader.file_set:
                self.reader.note(f"env_file {target} is not in the repository")
            layers.append(_dotenv_bindings(text or "", target))
        if image is not None:
            layers.append(image.env)
        return _Env((*layers, *self.reader.dotenv(directory).layers))

    def max_connections(self, kind: str, fields: Fields, command: str | list[str] | None,
                        directory: str) -> tuple[int | None, Location | None]:
        if kind != "postgres":
            return None, None
        words = command if isinstance(command, list) else _words(command or "") or []
        for word in words:
            match = _MAX_CONNECTIONS.fullmatch(word)
            if match:
                file_path, node = fields["command"]
                return int(match[1]), Location(file_path, _line(node))
        # A postgresql.conf mounted from the repository (postgres -c config_file=...).
        for item in _items((fields.get("volumes") or ("", None))[1]):
            source = _short_form(item, ("source", "target")).split(":")[0]
            target = posixpath.normpath(posixpath.join(directory, source))
            if source.endswith(".conf") and target in self.reader.file_set:
                match = _CONF_MAX_CONNECTIONS.search(self.reader.text(target) or "")
                if match:
                    line = self.reader.text(target)[:match.start(1)].count("\n") + 1
                    return int(match[1]), Location(target, line)
        return None, None


def _unescape(command: str | list[str] | None) -> str | list[str] | None:
    if isinstance(command, list):
        return [word.replace("$$", "$") for word in command]
    return command.replace("$$", "$") if command else command


def _short_form(node: yaml.Node, keys: tuple[str, str]) -> str:
    """Compose ports/volumes: "8000:8000" as written, or the long form rebuilt."""
    if (text := _scalar(node)) is not None:
        return text
    fields = _map(node)
    parts = [_scalar((fields.get(key) or (None, None))[1]) for key in keys]
    return ":".join(part for part in parts if part)
