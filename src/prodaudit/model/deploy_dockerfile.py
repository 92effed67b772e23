"""Dockerfiles: stages, base images, users, health checks, and the servers they start."""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field, replace

from prodaudit.findings import Location
from prodaudit.model.deploy_commands import _SPECS, _Env, _expand_text, _logical_lines, _Origin
from prodaudit.model.deploy_reader import _Reader
from prodaudit.model.deploy_records import BaseImage, DockerfileFacts, EnvBinding, ServerProcess

# -- Dockerfiles -------------------------------------------------------------------------

@dataclass
class _Stage:
    """Mutable while one Dockerfile is read; frozen into DockerfileFacts at the end."""

    base: str
    env: list[EnvBinding] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)
    user: tuple[str, Location] | None = None
    healthcheck: bool = False
    cmd: tuple[str | list[str], Location] | None = None
    entrypoint: tuple[str | list[str], Location] | None = None
    cmd_inherited: bool = False
    exposes: list[int] = field(default_factory=list)
    workdir: str = "/"

    def child(self) -> _Stage:
        return replace(self, env=list(self.env), args=dict(self.args),
                       exposes=list(self.exposes), cmd_inherited=True)


@dataclass(frozen=True)
class _Image:
    facts: DockerfileFacts
    command: str | tuple[str, ...] | None
    origin: _Origin | None
    env: tuple[EnvBinding, ...]
    base: str  # the external image the final stage starts from


def _exec_form(text: str) -> list[str] | None:
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:  # Docker runs an invalid JSON array as shell form
            return None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
    return None


def _pinned(image: str) -> bool | None:
    if "$" in image:
        return None
    if "@" in image or image.lower() == "scratch":
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and name.rsplit(":", 1)[1].lower() != "latest"


def _read_dockerfile(reader: _Reader, path: str) -> _Image | None:
    text = reader.text(path)
    if text is None:
        return None
    directive = re.match(r"\s*#\s*escape\s*=\s*([\\`])", text)
    global_args: dict[str, str] = {}
    stages: list[_Stage] = []
    aliases: dict[str, _Stage] = {}
    bases: list[BaseImage] = []
    for number, line in _logical_lines(text, directive[1] if directive else "\\"):
        instruction, _, rest = line.partition(" ")
        instruction, rest, here = instruction.upper(), rest.strip(), Location(path, number)
        stage = stages[-1] if stages else None
        known = {**global_args, **(stage.args if stage else {}),
                 **{b.name: b.value or "" for b in (stage.env if stage else ())}}
        if instruction == "FROM":
            words = [word for word in rest.split() if not word.startswith("--")]
            image = _expand_text(words[0], global_args) if words else ""
            parent = aliases.get(image.lower())
            stages.append(parent.child() if parent else _Stage(base=image))
            if parent is None:
                bases.append(BaseImage(image, here, _pinned(image)))
            if len(words) >= 3 and words[1].lower() == "as":
                aliases[words[2].lower()] = stages[-1]
        elif instruction == "ARG":
            for word in rest.split():
                name, sep, value = word.partition("=")
                target = stage.args if stage else global_args
                if sep or name in global_args:  # a bare ARG has no value to substitute
                    target[name] = value if sep else global_args[name]
        elif stage is None:
            continue
        elif instruction == "ENV":
            try:
                words = shlex.split(rest)
            except ValueError:
                words = rest.split()
            pairs = ([word.partition("=")[::2] for word in words if "=" in word]
                     if words and "=" in words[0] else [(words[0], rest[len(words[0]):].strip())]
                     if words else [])
            for name, value in pairs:
                value = _expand_text(value, known)
                known[name] = value
                stage.env.append(EnvBinding(name, value, here, f"{path} ENV"))
        elif instruction == "USER" and rest:
            stage.user = (_expand_text(rest.split()[0], known), here)
        elif instruction == "HEALTHCHECK":
            stage.healthcheck = rest.split()[:1] != ["NONE"]
        elif instruction == "EXPOSE":
            ports = (_expand_text(word, known).split("/")[0] for word in rest.split())
            stage.exposes.extend(int(port) for port in ports if port.isdigit())
        elif instruction == "WORKDIR" and rest:
            stage.workdir = posixpath.join(stage.workdir, _expand_text(rest, known))
        elif instruction in ("CMD", "ENTRYPOINT"):
            value: str | list[str] = _exec_form(rest) or rest
            if instruction == "CMD":
                stage.cmd, stage.cmd_inherited = (value, here), False
            else:
                stage.entrypoint = (value, here)
                if stage.cmd_inherited:  # a new ENTRYPOINT drops an inherited CMD
                    stage.cmd = None
    if not stages:
        reader.note(f"{path}: no FROM instruction; not a Dockerfile?")
        return None
    final = stages[-1]
    facts = DockerfileFacts(path, tuple(bases), final.user[0] if final.user else None,
                            final.user[1] if final.user else None, final.healthcheck,
                            tuple(dict.fromkeys(final.exposes)), len(stages))
    command, origin = _image_command(path, final)
    return _Image(facts, command, origin, tuple(final.env), final.base)


def _image_command(path: str, stage: _Stage) -> tuple[str | tuple[str, ...] | None,
                                                       _Origin | None]:
    """What `docker run` executes: ENTRYPOINT + CMD, as Docker combines them."""
    context = posixpath.dirname(path)
    entry, cmd = stage.entrypoint, stage.cmd
    if entry is None and cmd is None:
        return None, None
    where = cmd[1] if cmd else entry[1]
    label = f"{path} {'CMD' if cmd else 'ENTRYPOINT'}"
    if entry and isinstance(entry[0], str):  # shell-form ENTRYPOINT ignores CMD
        return entry[0], _Origin(f"{path} ENTRYPOINT", entry[1], context_dir=context)
    if entry is None and isinstance(cmd[0], str):
        return cmd[0], _Origin(label, where, context_dir=context)
    words = list(entry[0]) if entry else []
    if cmd:
        words += cmd[0] if isinstance(cmd[0], list) else ["/bin/sh", "-c", cmd[0]]
    return tuple(words), _Origin(label, where, expands=False, context_dir=context)


_TIANGOLO = "tiangolo/uvicorn-gunicorn"


def _image_servers(reader: _Reader, image: _Image, env: _Env, service: str = ""
                   ) -> list[ServerProcess]:
    if image.command is not None and image.origin is not None:
        origin = replace(image.origin, service=service)
        command = image.command if isinstance(image.command, str) else list(image.command)
        return reader.servers(command, origin, env)
    if image.base.startswith(_TIANGOLO):  # that image's own start script runs gunicorn
        here = image.facts.base_images[-1].location if image.facts.base_images else \
            Location(image.facts.path)
        num = reader.env_workers(_SPECS["gunicorn"], env)
        text = num.describe("") if num else (f"{_TIANGOLO} image default: WORKERS_PER_CORE "
                                             "x CPU cores (depends on the machine)")
        return [ServerProcess("gunicorn", "", num.value if num else None,
                              num.location if num else None, text,
                              "uvicorn.workers.UvicornWorker", image.base, here, service)]
    return []
