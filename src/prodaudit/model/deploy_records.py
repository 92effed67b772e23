"""Deployment records: the public dataclasses that model/deploy.py returns."""

from __future__ import annotations

from dataclasses import dataclass

from prodaudit.findings import Location

WEB_SERVERS = frozenset({"uvicorn", "gunicorn", "hypercorn", "granian", "fastapi", "daphne"})
TASK_SERVERS = frozenset({"celery", "arq", "dramatiq"})
MAX_FILE_BYTES = 1_000_000
MAX_COMMAND_TEXT = 300
MAX_DEPTH = 6  # scripts calling scripts, variables naming variables


@dataclass(frozen=True)
class EnvBinding:
    """One environment variable as written somewhere; value None = declared without one."""

    name: str
    value: str | None
    location: Location
    origin: str  # "docker-compose.yml", "Dockerfile ENV", ".env"


@dataclass(frozen=True)
class ServerProcess:
    server: str
    app: str
    workers: int | None
    workers_location: Location | None
    workers_source: str
    worker_class: str
    command: str
    location: Location
    service: str = ""
    replicas: int | None = None
    replicas_location: Location | None = None
    reload: bool = False

    @property
    def is_web(self) -> bool:
        return self.server in WEB_SERVERS


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    build: bool
    kind: str  # postgres, mysql, redis, rabbitmq, mongo, nginx, app, worker, other
    healthcheck: bool
    ports: tuple[str, ...]
    volumes: tuple[str, ...]
    depends_on: tuple[str, ...]
    location: Location
    max_connections: int | None = None
    max_connections_location: Location | None = None
    user: str = ""
    restart: str = ""
    replicas: int | None = None
    replicas_location: Location | None = None


@dataclass(frozen=True)
class BaseImage:
    image: str
    location: Location
    # True: digest or a tag other than "latest"; None: the tag is an unresolved ARG.
    pinned: bool | None


@dataclass(frozen=True)
class DockerfileFacts:
    path: str
    # External images only: `FROM builder` of an earlier stage is not a base image.
    base_images: tuple[BaseImage, ...]
    final_user: str | None
    final_user_location: Location | None
    has_healthcheck: bool
    exposes: tuple[int, ...]
    stages: int

    @property
    def pinned_base(self) -> bool:
        return all(image.pinned for image in self.base_images)


@dataclass(frozen=True)
class K8sWorkload:
    name: str
    kind: str  # Deployment, StatefulSet
    images: tuple[str, ...]
    replicas: int | None
    replicas_location: Location | None
    location: Location
    # From a HorizontalPodAutoscaler targeting this workload, when one is in the repo.
    max_replicas: int | None = None
    max_replicas_location: Location | None = None


@dataclass(frozen=True)
class Deployment:
    servers: tuple[ServerProcess, ...] = ()
    services: tuple[Service, ...] = ()
    dockerfiles: tuple[DockerfileFacts, ...] = ()
    k8s: tuple[K8sWorkload, ...] = ()
    notes: tuple[str, ...] = ()

    def web_servers(self) -> tuple[ServerProcess, ...]:
        return tuple(server for server in self.servers if server.is_web)

    def max_workers(self) -> tuple[int | None, ServerProcess | None]:
        """Largest workers x replicas among web servers whose count is known.

        When no web server has a known count, returns (None, the first web server) so the
        caller can quote its workers_source; (None, None) when there is no web server.
        """
        web = self.web_servers()
        known = [(s.workers * (s.replicas or 1), s) for s in web if s.workers is not None]
        if known:
            return max(known, key=lambda pair: pair[0])
        return None, (web[0] if web else None)

    def database_service(self) -> Service | None:
        for kind in ("postgres", "mysql", "mongo"):
            for service in self.services:
                if service.kind == kind:
                    return service
        return None

    def has_service(self, kind: str) -> bool:
        return any(service.kind == kind for service in self.services)
