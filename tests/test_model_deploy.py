"""model/deploy.py: every deployment form it claims to read, with exact values."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from prodaudit.findings import Location
from prodaudit.model.deploy import (
    BaseImage,
    Deployment,
    ServerProcess,
    read_deployment,
)


def deploy(tmp_path: Path, files: dict[str, str | bytes], listed: list[str] | None = None
           ) -> Deployment:
    """Write a small tree and read it; `listed` lets a test list a file that is absent."""
    for relative, content in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content).lstrip("\n"))
    return read_deployment(tmp_path, listed if listed is not None else sorted(files))


def only(deployment: Deployment, **match: object) -> ServerProcess:
    found = [s for s in deployment.servers
             if all(getattr(s, key) == value for key, value in match.items())]
    assert len(found) == 1, deployment.servers
    return found[0]


def at(path: str, line: int = 0) -> Location:
    return Location(path, line)


# -- Dockerfile commands ---------------------------------------------------------------

def test_exec_form_uvicorn_workers(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        FROM python:3.12-slim
        CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--workers", "4"]
    """})
    s = only(d)
    assert (s.server, s.app, s.workers) == ("uvicorn", "app.main:app", 4)
    assert s.workers_location == at("Dockerfile", 2)
    assert s.workers_source == "--workers 4 in Dockerfile CMD"
    assert s.location == at("Dockerfile", 2)
    assert s.command == "uvicorn app.main:app --host 0.0.0.0 --workers 4"
    assert s.reload is False and s.service == "" and s.replicas is None
    assert d.notes == ()


def test_workers_equals_form_and_uvicorn_default(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "main:app", "--workers=3"]\n',
        "Dockerfile.dev": "FROM python:3.12\nCMD uvicorn main:app --port 8000\n",
    })
    assert only(d, location=at("Dockerfile", 2)).workers == 3
    default = only(d, location=at("Dockerfile.dev", 2))
    assert (default.workers, default.workers_source) == (1, "uvicorn default 1")
    assert default.workers_location is None  # a built-in default is written nowhere


def test_shell_form_multiline_gunicorn(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        FROM python:3.12
        # the server
        CMD gunicorn app.main:app \\
            # comment lines inside a continuation are dropped by Docker
            -k uvicorn.workers.UvicornWorker \\
            -w 4 --bind 0.0.0.0:8000
    """})
    s = only(d)
    assert (s.server, s.app, s.workers, s.worker_class) == (
        "gunicorn", "app.main:app", 4, "uvicorn.workers.UvicornWorker")
    assert s.workers_source == "-w 4 in Dockerfile CMD"
    assert s.location == at("Dockerfile", 3)


def test_gunicorn_attached_short_option_and_default(tmp_path):
    d = deploy(tmp_path, {
        "a.dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-w4", "app:create_app()"]\n',
        "b/Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "app:app"]\n',
    })
    first = only(d, location=at("a.dockerfile", 2))
    assert (first.workers, first.app) == (4, "app:create_app()")
    second = only(d, location=at("b/Dockerfile", 2))
    assert (second.workers, second.workers_source) == (1, "gunicorn default 1")


def test_dockerfile_env_feeds_gunicorn_and_web_concurrency(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        FROM python:3.12
        ENV WEB_CONCURRENCY=3 OTHER="a b"
        CMD ["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "app.main:app"]
    """})
    s = only(d)
    assert s.workers == 3
    assert s.workers_source == "WEB_CONCURRENCY=3 in Dockerfile ENV"
    assert s.workers_location == at("Dockerfile", 2)


def test_exec_form_does_not_expand_variables(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        FROM python:3.12
        ENV WEB_CONCURRENCY=3
        CMD ["gunicorn", "-w", "$WEB_CONCURRENCY", "app:app"]
    """})
    s = only(d)
    assert s.workers is None
    assert s.workers_source == ("-w $WEB_CONCURRENCY in Dockerfile CMD: "
                                "exec form does not expand variables")
    assert s.workers_location == at("Dockerfile", 3)


def test_default_syntax_and_unset_variable(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": "FROM python:3.12\nCMD gunicorn -w ${WEB_CONCURRENCY:-4} app:app\n",
        "Dockerfile.prod": "FROM python:3.12\nCMD gunicorn -w $WORKERS app:app\n",
    })
    with_default = only(d, location=at("Dockerfile", 2))
    assert with_default.workers == 4
    assert with_default.workers_source == ("-w ${WEB_CONCURRENCY:-4} in Dockerfile CMD; "
                                           "default 4 of ${WEB_CONCURRENCY:-4}")
    assert with_default.workers_location == at("Dockerfile", 2)
    unset = only(d, location=at("Dockerfile.prod", 2))
    assert unset.workers is None
    assert unset.workers_source == ("-w $WORKERS in Dockerfile.prod CMD: "
                                    "WORKERS is not set in the repository")


def test_dotenv_resolves_and_example_ranks_last(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": "FROM python:3.12\nCMD uvicorn app:app --workers ${WORKERS}\n",
        ".env": "# local settings\nexport WORKERS='6'  \n",
        ".env.example": "WORKERS=2\n",
    })
    s = only(d)
    assert s.workers == 6
    assert s.workers_location == at(".env", 2)
    assert s.workers_source == "--workers ${WORKERS} in Dockerfile CMD; WORKERS=6 in .env"


def test_nproc_is_machine_dependent(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": "FROM python:3.12\nCMD gunicorn -w $(nproc) app:app\n"})
    s = only(d)
    assert s.workers is None
    assert s.workers_source == "-w $(nproc) in Dockerfile CMD: depends on the machine"


def test_sh_c_chain_with_migrations(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        FROM python:3.12
        CMD ["sh", "-c", "alembic upgrade head && exec uvicorn app.main:app --workers 2"]
    """})
    s = only(d)
    assert (s.server, s.app, s.workers) == ("uvicorn", "app.main:app", 2)
    assert s.command == "uvicorn app.main:app --workers 2"


def test_python_dash_m_and_wrappers(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nENTRYPOINT ["tini", "--"]\n'
                      'CMD ["python", "-u", "-m", "uvicorn", "svc:app", "--workers", "2"]\n',
        "Dockerfile.worker": 'FROM python:3.12\n'
                             'CMD ["uv", "run", "--no-sync", "celery", "-A", "proj", "worker",'
                             ' "-c", "8", "-P", "gevent"]\n',
    })
    web = only(d, server="uvicorn")
    assert (web.app, web.workers, web.location) == ("svc:app", 2, at("Dockerfile", 3))
    task = only(d, server="celery")
    assert (task.app, task.workers, task.worker_class) == ("proj", 8, "gevent")
    assert d.web_servers() == (web,)


def test_fastapi_hypercorn_granian_daphne(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile.a": 'FROM python:3.12\n'
                        'CMD ["fastapi", "run", "app/main.py", "--workers", "4"]\n',
        "Dockerfile.b": 'FROM python:3.12\nCMD ["fastapi", "dev", "app/main.py"]\n',
        "Dockerfile.c": 'FROM python:3.12\nCMD ["hypercorn", "-w", "2", "-k", "uvloop", "m:app"]\n',
        "Dockerfile.d": 'FROM python:3.12\nCMD ["granian", "--interface", "asgi", "m:app"]\n',
        "Dockerfile.e": 'FROM python:3.12\nCMD ["daphne", "-b", "0.0.0.0", "proj.asgi:app"]\n',
    })
    run = only(d, location=at("Dockerfile.a", 2))
    assert (run.server, run.app, run.workers, run.reload) == ("fastapi", "app/main.py", 4, False)
    dev = only(d, location=at("Dockerfile.b", 2))
    assert (dev.reload, dev.workers, dev.workers_source) == (
        True, 1, "--reload: fastapi runs one process")
    hyper = only(d, location=at("Dockerfile.c", 2))
    assert (hyper.server, hyper.workers, hyper.worker_class) == ("hypercorn", 2, "uvloop")
    granian = only(d, location=at("Dockerfile.d", 2))
    assert (granian.workers, granian.workers_source, granian.worker_class) == (
        1, "granian default 1", "asgi")
    daphne = only(d, location=at("Dockerfile.e", 2))
    assert (daphne.app, daphne.workers, daphne.workers_source) == (
        "proj.asgi:app", 1, "daphne runs one process")


def test_folded_compose_command_merge_sequence_and_custom_tags(tmp_path):
    d = deploy(tmp_path, {"compose.yml": """
        x-a: &a
          restart: always
        x-b: &b
          restart: "no"
          user: nobody
        services:
          web:
            <<: [*a, *b]
            image: myorg/web
            ports: !reset []
            command: >
              bash -c "python manage.py migrate &&
              gunicorn -w 3 proj.wsgi"
            healthcheck:
              test: ["NONE"]
    """})
    (web,) = d.services
    assert (web.restart, web.user, web.ports, web.healthcheck, web.kind) == (
        "always", "nobody", (), False, "app")  # earlier maps win in a merge sequence
    s = only(d)
    assert (s.server, s.app, s.workers, s.location) == ("gunicorn", "proj.wsgi", 3,
                                                       at("compose.yml", 11))


def test_script_calling_itself_stops(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": 'FROM python:3.12\nCMD ["./start.sh"]\n',
                          "start.sh": "#!/bin/sh\n./start.sh\nsh start.sh\n"})
    assert [(s.server, s.command) for s in d.servers] == [("unknown", "./start.sh")]


def test_hypercorn_toml_config(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD ["hypercorn", "-c", "hypercorn.toml", "m:app"]\n',
        "Dockerfile.b": 'FROM python:3.12\nCMD ["hypercorn", "--config", "python:cfg", "m:app"]\n',
        "hypercorn.toml": 'bind = "0.0.0.0:8000"\nworkers = 5\n',
    })
    toml = only(d, location=at("Dockerfile", 2))
    assert (toml.workers, toml.workers_location, toml.workers_source) == (
        5, at("hypercorn.toml", 2), "workers = 5 in hypercorn.toml")
    module = only(d, location=at("Dockerfile.b", 2))
    assert (module.workers, module.workers_source) == (
        None, "hypercorn config python:cfg is not read")


def test_reload_overrides_uvicorn_workers(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": "FROM python:3.12\n"
                                        "CMD uvicorn app:app --reload --workers 4\n"})
    s = only(d)
    assert (s.reload, s.workers, s.workers_source) == (
        True, 1, "--reload: uvicorn runs one process")


def test_uvicorn_reads_uvicorn_workers_before_web_concurrency(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": "FROM python:3.12\nENV WEB_CONCURRENCY=2\n"
                                        "ENV UVICORN_WORKERS=5\nCMD uvicorn app:app\n"})
    s = only(d)
    assert (s.workers, s.workers_source) == (5, "UVICORN_WORKERS=5 in Dockerfile ENV")


def test_script_referenced_by_cmd(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nWORKDIR /app\nCOPY . .\nCMD ["/app/scripts/start.sh"]\n',
        "scripts/start.sh": """
            #!/bin/sh
            set -e
            alembic upgrade head
            WORKERS=${WEB_CONCURRENCY:-2}
            exec gunicorn -w "$WORKERS" \\
                -k uvicorn.workers.UvicornWorker app.main:app
        """,
    })
    s = only(d)
    assert (s.server, s.workers, s.location) == ("gunicorn", 2, at("scripts/start.sh", 5))
    assert s.workers_location == at("scripts/start.sh", 4)
    assert s.workers_source == ('-w $WORKERS in scripts/start.sh; '
                                'WORKERS=${WEB_CONCURRENCY:-2} in scripts/start.sh; '
                                'default 2 of ${WEB_CONCURRENCY:-2}')


def test_entrypoint_script_execs_cmd(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nENTRYPOINT ["./docker-entrypoint.sh"]\n'
                      'CMD ["uvicorn", "app:app", "--workers", "3"]\n',
        "docker-entrypoint.sh": '#!/bin/bash\npython manage.py wait_for_db\nexec "$@"\n',
    })
    s = only(d)  # the root script is not read a second time on its own
    assert (s.server, s.workers, s.location) == ("uvicorn", 3, at("Dockerfile", 3))


def test_missing_entrypoint_script_still_reads_cmd(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": 'FROM python:3.12\nENTRYPOINT ["/entrypoint.sh"]\n'
                                        'CMD ["gunicorn", "-w", "2", "app:app"]\n'})
    assert only(d).workers == 2
    assert d.notes == (("Dockerfile: script /entrypoint.sh is not in the repository; "
                       "its command is unknown"),)


def test_python_script_with_uvicorn_run(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD ["python", "main.py"]\n',
        "main.py": """
            import os
            import uvicorn

            if __name__ == "__main__":
                uvicorn.run("app.api:app", host="0.0.0.0",
                            workers=int(os.getenv("WORKERS", 3)))
        """,
    })
    s = only(d)
    assert (s.server, s.app, s.workers, s.location) == ("uvicorn", "app.api:app", 3,
                                                       at("main.py", 5))
    assert s.workers_location == at("main.py", 6)
    assert s.workers_source == ('workers=int(os.getenv(\'WORKERS\', 3)) in main.py; '
                                'WORKERS unset, default 3')


def test_python_module_is_opaque(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": 'FROM python:3.12\nCMD ["python", "-m", "bot"]\n'})
    s = only(d)
    assert (s.server, s.app, s.workers) == ("python", "bot", None)
    assert s.workers_source == "python -m bot: the server is started in code"


def test_unknown_program_is_recorded(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": 'FROM node:20\nCMD ["node", "server.js"]\n'})
    s = only(d)
    assert (s.server, s.workers, s.command) == ("unknown", None, "node server.js")
    assert d.web_servers() == ()
    assert d.max_workers() == (None, None)


def test_command_text_is_shortened(tmp_path):
    long_tail = " ".join(f"--log-config x{i}" for i in range(60))
    d = deploy(tmp_path, {"Dockerfile": f"FROM python:3.12\nCMD uvicorn app:app {long_tail}\n"})
    assert len(only(d).command) == 300


# -- gunicorn config files -------------------------------------------------------------

@pytest.mark.parametrize(("body", "workers", "source", "line"), [
    ("workers = 4\n", 4, "workers = 4 in gunicorn.conf.py", 1),
    ('import os\nworkers = int(os.getenv("WEB_CONCURRENCY", 2))\n', 2,
     ("workers = int(os.getenv('WEB_CONCURRENCY', 2)) in gunicorn.conf.py; "
     "WEB_CONCURRENCY unset, default 2"), 2),
    ("import multiprocessing\nworkers = multiprocessing.cpu_count() * 2 + 1\n", None,
     ("workers = multiprocessing.cpu_count() * 2 + 1 in gunicorn.conf.py: "
     "depends on the machine"), 2),
    ("per_core = 2\ncores = 3\nworkers = max(per_core * cores, 2)\n", 6,
     "workers = max(per_core * cores, 2) in gunicorn.conf.py", 3),
])
def test_gunicorn_conf_workers(tmp_path, body, workers, source, line):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-c", "gunicorn.conf.py", "m:app"]\n',
        "gunicorn.conf.py": body,
    })
    s = only(d)
    assert (s.workers, s.workers_source) == (workers, source)
    assert s.workers_location == at("gunicorn.conf.py", line)


def test_gunicorn_conf_env_from_compose_and_auto_load(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn"]\n',
        # gunicorn loads ./gunicorn.conf.py without -c
        "gunicorn.conf.py": 'import os\nwsgi_app = "app.main:app"\n'
                            'worker_class = "uvicorn.workers.UvicornWorker"\n'
                            'workers = int(os.environ.get("WEB_CONCURRENCY", "2"))\n',
        "compose.yaml": "services:\n  web:\n    build: .\n"
                        "    environment:\n      WEB_CONCURRENCY: 7\n",
    })
    image = only(d, service="")
    assert (image.app, image.worker_class, image.workers) == (
        "app.main:app", "uvicorn.workers.UvicornWorker", 2)
    web = only(d, service="web")
    assert web.workers == 7
    assert web.workers_location == at("compose.yaml", 5)
    assert web.workers_source == ("workers = int(os.environ.get('WEB_CONCURRENCY', '2')) in "
                                  "gunicorn.conf.py; WEB_CONCURRENCY=7 in compose.yaml")


def test_gunicorn_cli_beats_conf_and_python_module_conf(tmp_path):
    d = deploy(tmp_path, {
        "Procfile": "web: gunicorn -c python:deploy.gunicorn_conf -w 3 app:app\n"
                    "worker: gunicorn --config python:deploy.gunicorn_conf app:app\n",
        "deploy/gunicorn_conf.py": "workers = 9\nreload = True\n",
    })
    assert only(d, service="web").workers == 3
    worker = only(d, service="worker")
    assert (worker.workers, worker.workers_location, worker.reload) == (
        9, at("deploy/gunicorn_conf.py", 1), True)


def test_gunicorn_cmd_args_env(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": 'FROM python:3.12\nENV GUNICORN_CMD_ARGS="--workers 6"\n'
                                        'CMD ["gunicorn", "app:app"]\n'})
    s = only(d)
    assert (s.workers, s.workers_location) == (6, at("Dockerfile", 2))
    assert s.workers_source == "GUNICORN_CMD_ARGS=--workers 6 in Dockerfile ENV"


def test_broken_gunicorn_conf_is_a_note(tmp_path):
    d = deploy(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-c", "gunicorn_conf.py", "m:app"]\n',
        "gunicorn_conf.py": "workers = (\n",
    })
    assert (only(d).workers, only(d).workers_source) == (1, "gunicorn default 1")
    assert len(d.notes) == 1 and d.notes[0].startswith("gunicorn_conf.py: not valid Python")


# -- Dockerfile facts ------------------------------------------------------------------

def test_dockerfile_facts_multi_stage(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        ARG PY=3.12
        FROM python:${PY}-slim AS builder
        USER root
        FROM builder AS test
        FROM python@sha256:abc123 AS runtime
        FROM ghcr.io/org/base
        FROM runtime
        ARG PORT=9000
        EXPOSE 8000/tcp ${PORT} $UNSET
        USER appuser:appgroup
        HEALTHCHECK --interval=30s CMD curl -f http://localhost:8000/health || exit 1
        CMD ["uvicorn", "app:app"]
    """})
    (facts,) = d.dockerfiles
    assert facts.path == "Dockerfile"
    assert facts.base_images == (
        BaseImage("python:3.12-slim", at("Dockerfile", 2), True),
        BaseImage("python@sha256:abc123", at("Dockerfile", 5), True),
        BaseImage("ghcr.io/org/base", at("Dockerfile", 6), False),
    )
    assert facts.pinned_base is False
    assert (facts.final_user, facts.final_user_location) == ("appuser:appgroup",
                                                             at("Dockerfile", 10))
    assert facts.has_healthcheck is True
    assert facts.exposes == (8000, 9000)
    assert facts.stages == 5


def test_dockerfile_user_inherited_healthcheck_none_and_latest(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": """
        FROM python:latest AS base
        USER app
        HEALTHCHECK CMD true
        FROM base
        HEALTHCHECK NONE
        CMD ["python", "-m", "app"]
    """})
    (facts,) = d.dockerfiles
    assert facts.base_images == (BaseImage("python:latest", at("Dockerfile", 1), False),)
    assert (facts.final_user, facts.final_user_location) == ("app", at("Dockerfile", 2))
    assert facts.has_healthcheck is False
    assert facts.stages == 2


def test_dockerfile_unresolved_arg_tag_and_no_user(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": "ARG TAG\nFROM python:${TAG}\nRUN <<EOF\nUSER x\nEOF\n"})
    (facts,) = d.dockerfiles
    assert facts.base_images == (BaseImage("python:${TAG}", at("Dockerfile", 2), None),)
    assert (facts.final_user, facts.final_user_location) == (None, None)
    assert d.servers == ()


def test_tiangolo_base_image_runs_gunicorn(tmp_path):
    d = deploy(tmp_path, {"Dockerfile": "FROM tiangolo/uvicorn-gunicorn-fastapi:python3.11\n"
                                        "COPY ./app /app\n"})
    s = only(d)
    assert (s.server, s.workers, s.worker_class) == ("gunicorn", None,
                                                     "uvicorn.workers.UvicornWorker")
    assert s.workers_source == ("tiangolo/uvicorn-gunicorn image default: WORKERS_PER_CORE x "
                                "CPU cores (depends on the machine)")


# -- docker compose --------------------------------------------------------------------

COMPOSE = """
    x-defaults: &defaults
      restart: unless-stopped
      env_file: .env.compose

    services:
      api:
        <<: *defaults
        build:
          context: ./backend
          dockerfile: Dockerfile.prod
        environment:
          - WEB_CONCURRENCY=${WEB_CONCURRENCY:-4}
          - PASSED_THROUGH
        ports:
          - "8000:8000"
          - target: 9000
            published: "9001"
        depends_on:
          db:
            condition: service_healthy
          cache:
            condition: service_started
        deploy:
          replicas: 3
        user: "1000:1000"
      worker:
        <<: *defaults
        build: ./backend
        command: ["celery", "-A", "app.worker", "worker", "--concurrency=2"]
        depends_on: [db, cache]
      db:
        image: postgres:16-alpine
        command: ["postgres", "-c", "max_connections=250"]
        volumes:
          - pgdata:/var/lib/postgresql/data
        healthcheck:
          test: ["CMD", "pg_isready"]
      cache:
        image: redis:7
        healthcheck:
          disable: true
      mq:
        image: rabbitmq:3-management
      proxy:
        image: nginx:1.27
        volumes:
          - type: bind
            source: ./nginx.conf
            target: /etc/nginx/nginx.conf
      mongo:
        image: mongo:7
      other:
        image: mailhog/mailhog
      metrics:
        image: prometheuscommunity/postgres-exporter
      edge:
        build: ./edge
    volumes:
      pgdata:
"""


def test_compose_services_and_servers(tmp_path):
    d = deploy(tmp_path, {
        "docker-compose.yml": COMPOSE,
        ".env.compose": "LOG_LEVEL=info\n",
        "backend/Dockerfile.prod": 'FROM python:3.12\nCMD ["gunicorn", "app.main:app"]\n',
        "backend/Dockerfile": 'FROM python:3.12\nCMD ["uvicorn", "app.main:app"]\n',
        "edge/Dockerfile": 'FROM nginx:1.27-alpine\nCOPY nginx.conf /etc/nginx/\n',
    })
    by_name = {service.name: service for service in d.services}
    assert [s.name for s in d.services] == ["api", "worker", "db", "cache", "mq", "proxy",
                                            "mongo", "other", "metrics", "edge"]
    api = by_name["api"]
    assert (api.kind, api.image, api.build, api.restart, api.user) == (
        "app", "", True, "unless-stopped", "1000:1000")
    assert api.location == at("docker-compose.yml", 6)
    assert api.ports == ("8000:8000", "9001:9000")
    assert api.depends_on == ("db", "cache")
    assert (api.replicas, api.replicas_location) == (3, at("docker-compose.yml", 24))
    assert api.healthcheck is False
    worker = by_name["worker"]
    assert (worker.kind, worker.depends_on, worker.restart) == ("worker", ("db", "cache"),
                                                                "unless-stopped")
    db = by_name["db"]
    assert (db.kind, db.healthcheck, db.volumes) == ("postgres", True,
                                                      ("pgdata:/var/lib/postgresql/data",))
    assert (db.max_connections, db.max_connections_location) == (
        250, at("docker-compose.yml", 33))
    assert [by_name[n].kind for n in ("cache", "mq", "proxy", "mongo", "other", "metrics",
                                      "edge")] == [
        "redis", "rabbitmq", "nginx", "mongo", "other", "other", "nginx"]
    assert by_name["cache"].healthcheck is False
    assert by_name["proxy"].volumes == ("./nginx.conf:/etc/nginx/nginx.conf",)
    assert d.database_service() == db
    assert d.has_service("redis") and not d.has_service("mysql")

    api_server = only(d, service="api")
    assert (api_server.server, api_server.workers, api_server.replicas) == ("gunicorn", 4, 3)
    assert api_server.location == at("backend/Dockerfile.prod", 2)
    assert api_server.workers_location == at("docker-compose.yml", 12)
    assert api_server.workers_source == ("WEB_CONCURRENCY=${WEB_CONCURRENCY:-4} in "
                                         "docker-compose.yml; default 4 of "
                                         "${WEB_CONCURRENCY:-4}")
    assert api_server.replicas_location == at("docker-compose.yml", 24)
    worker_server = only(d, service="worker")
    assert (worker_server.server, worker_server.app, worker_server.workers) == (
        "celery", "app.worker", 2)
    assert worker_server.location == at("docker-compose.yml", 29)
    assert worker_server.workers_source == (
        "--concurrency 2 in docker-compose.yml service worker command")
    assert d.max_workers() == (12, api_server)
    assert d.notes == ()


def test_compose_dotenv_interpolation_and_mapping_environment(tmp_path):
    d = deploy(tmp_path, {
        "deploy/compose.prod.yml": """
            services:
              web:
                image: registry.example.com/api:1.2
                command: sh -c "uvicorn app:app --workers $${WORKERS}"
                environment:
                  WORKERS: ${WEB_CONCURRENCY}
                scale: 2
        """,
        "deploy/.env": "WEB_CONCURRENCY=8\n",
    })
    s = only(d)
    assert (s.workers, s.replicas, s.replicas_location) == (8, 2, at("deploy/compose.prod.yml",
                                                                     7))
    assert s.workers_location == at("deploy/.env", 1)
    assert s.location == at("deploy/compose.prod.yml", 4)
    # compose turns $$ into a literal $, which the container's shell then expands
    assert s.workers_source == ("--workers ${WORKERS} in deploy/compose.prod.yml service web "
                                "command; WORKERS=${WEB_CONCURRENCY} in deploy/compose.prod.yml; "
                                "WEB_CONCURRENCY=8 in deploy/.env")


def test_compose_env_var_only_worker_count_without_value(tmp_path):
    d = deploy(tmp_path, {"docker-compose.yaml": """
        services:
          api:
            image: myorg/api
            command: gunicorn -w $WEB_CONCURRENCY app:app
            environment:
              - WEB_CONCURRENCY
    """})
    s = only(d)
    assert s.workers is None
    assert s.workers_location == at("docker-compose.yaml", 6)
    assert s.workers_source == ("-w $WEB_CONCURRENCY in docker-compose.yaml service api "
                                "command; WEB_CONCURRENCY in docker-compose.yaml: "
                                "WEB_CONCURRENCY has no value in the repository")


def test_compose_extends_same_and_other_file(tmp_path):
    d = deploy(tmp_path, {
        "common.yml": """
            services:
              base:
                image: python:3.12
                command: uvicorn app:app --workers ${WORKERS:-2}
                environment:
                  WORKERS: "5"
                restart: always
        """,
        "docker-compose.yml": """
            services:
              api:
                extends:
                  file: common.yml
                  service: base
                environment:
                  OTHER: "1"
              api2:
                extends:
                  service: api
                restart: "no"
              broken:
                extends: nowhere
        """,
    }, listed=["docker-compose.yml", "common.yml"])
    api = only(d, service="api", location=at("common.yml", 4))
    assert (api.workers, api.workers_location) == (5, at("common.yml", 6))
    by_name = {s.name: s for s in d.services if s.location.path == "docker-compose.yml"}
    assert by_name["api"].restart == "always"
    assert by_name["api2"].restart == "no"
    assert only(d, service="api2").workers == 5
    assert by_name["broken"].kind == "other"
    assert d.notes == (("docker-compose.yml: service broken extends nowhere in "
                       "docker-compose.yml, which could not be found; its own keys only"),)


def test_compose_mounted_postgresql_conf_and_mysql(tmp_path):
    d = deploy(tmp_path, {
        "docker-compose.yml": """
            services:
              db:
                image: postgis/postgis:16-3.4
                command: postgres -c config_file=/etc/postgresql/postgresql.conf
                volumes:
                  - ./db/postgresql.conf:/etc/postgresql/postgresql.conf:ro
              legacy:
                image: mariadb:11
        """,
        "db/postgresql.conf": "# tuned\n#max_connections = 10\nmax_connections = 300\n",
    })
    db, legacy = d.services
    assert (db.kind, db.max_connections, db.max_connections_location) == (
        "postgres", 300, at("db/postgresql.conf", 3))
    assert legacy.kind == "mysql"
    assert d.servers == ()


def test_compose_entrypoint_plus_command(tmp_path):
    d = deploy(tmp_path, {"compose.yml": """
        services:
          app:
            image: myorg/app
            entrypoint: ["python", "-m"]
            command: uvicorn app:app --workers 2 --reload
    """})
    s = only(d)
    assert (s.server, s.reload, s.workers) == ("uvicorn", True, 1)


# -- Procfile, app.json, fly.toml, render.yaml, k8s ------------------------------------

def test_procfile_and_app_json(tmp_path):
    d = deploy(tmp_path, {
        "Procfile": "# processes\nweb: gunicorn -w $WEB_CONCURRENCY -k uvicorn.workers."
                    "UvicornWorker app:app\nrelease: alembic upgrade head\n"
                    "worker: arq app.worker.Settings\n",
        "app.json": '{\n  "env": {\n    "WEB_CONCURRENCY": {"value": "3"}\n  },\n'
                    '  "formation": {\n    "web": {\n      "quantity": 2\n    }\n  }\n}\n',
    })
    web = only(d, service="web")
    assert (web.workers, web.workers_location, web.replicas, web.replicas_location) == (
        3, at("app.json", 3), 2, at("app.json", 7))
    assert web.location == at("Procfile", 2)
    worker = only(d, service="worker")
    assert (worker.server, worker.app, worker.workers) == ("arq", "app.worker.Settings", 1)
    assert [s.service for s in d.servers] == ["web", "worker"]  # release is not a server
    assert d.max_workers() == (6, web)


def test_fly_toml(tmp_path):
    d = deploy(tmp_path, {"fly.toml": """
        app = "demo"

        [env]
          WEB_CONCURRENCY = "4"

        [processes]
          app = "gunicorn app.main:app -k uvicorn.workers.UvicornWorker"
          worker = "celery -A app.tasks worker"
    """})
    app = only(d, service="app")
    assert (app.workers, app.workers_location, app.location) == (4, at("fly.toml", 4),
                                                                 at("fly.toml", 7))
    worker = only(d, service="worker")
    assert worker.workers is None
    assert worker.workers_source == "celery default: one process per CPU (depends on the machine)"
    assert worker.workers_location is None


def test_render_yaml(tmp_path):
    d = deploy(tmp_path, {"render.yaml": """
        services:
          - type: web
            name: api
            runtime: python
            startCommand: uvicorn app.main:app --workers $WORKERS
            numInstances: 2
            envVars:
              - key: WORKERS
                value: 3
              - key: DATABASE_URL
                fromDatabase:
                  name: db
                  property: connectionString
          - type: redis
            name: cache
        databases:
          - name: db
    """})
    s = only(d)
    assert (s.service, s.workers, s.workers_location, s.replicas, s.replicas_location) == (
        "api", 3, at("render.yaml", 9), 2, at("render.yaml", 6))
    assert [(x.name, x.kind) for x in d.services] == [("cache", "redis"), ("db", "postgres")]


def test_k8s_deployment_and_hpa(tmp_path):
    d = deploy(tmp_path, {"k8s/api.yaml": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          replicas: 3
          template:
            spec:
              containers:
                - name: api
                  image: myorg/api:1.0
                  command: ["gunicorn"]
                  args: ["-w", "$(WORKERS)", "app:app"]
                  env:
                    - name: WORKERS
                      value: "2"
                    - name: SECRET
                      valueFrom:
                        secretKeyRef: {name: s, key: k}
                - name: sidecar
                  image: envoyproxy/envoy:v1.30
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: api-hpa
        spec:
          scaleTargetRef:
            kind: Deployment
            name: api
          maxReplicas: 10
    """})
    (workload,) = d.k8s
    assert (workload.name, workload.kind, workload.images) == (
        "api", "Deployment", ("myorg/api:1.0", "envoyproxy/envoy:v1.30"))
    assert (workload.replicas, workload.replicas_location) == (3, at("k8s/api.yaml", 6))
    assert (workload.max_replicas, workload.max_replicas_location) == (10, at("k8s/api.yaml",
                                                                            31))
    s = only(d)
    assert (s.server, s.workers, s.workers_location, s.replicas) == (
        "gunicorn", 2, at("k8s/api.yaml", 16), 3)


def test_root_scripts_are_read_when_nothing_references_them(tmp_path):
    d = deploy(tmp_path, {"run.sh": "#!/bin/bash\nhypercorn app:app --workers 3\n",
                          "tools/run.sh": "uvicorn x:app\n"})
    s = only(d)
    assert (s.server, s.workers, s.location) == ("hypercorn", 3, at("run.sh", 2))


# -- bad input -------------------------------------------------------------------------

def test_broken_yaml_binary_dockerfile_missing_file(tmp_path):
    d = deploy(tmp_path, {
        "docker-compose.yml": "services:\n  api:\n    image: [unclosed\n",
        "Dockerfile": b"\x7fELF\x00\x01\x02binary",
        "Dockerfile.latin1": "FROM python:3.12\nLABEL x=caf\xe9\n".encode("latin-1"),
    }, listed=["Dockerfile", "Dockerfile.latin1", "docker-compose.yml", "gone/Dockerfile"])
    assert d.servers == () and d.services == () and d.dockerfiles == ()
    assert d.notes[0] == "Dockerfile: binary file; not read"
    assert d.notes[1] == "Dockerfile.latin1: not UTF-8 text; not read"
    assert d.notes[2].startswith("gone/Dockerfile: could not be read (")
    assert d.notes[3].startswith("docker-compose.yml: not valid YAML at line 4 (")


def test_broken_toml_json_and_odd_shapes(tmp_path):
    d = deploy(tmp_path, {
        "fly.toml": "[processes\napp = 1\n",
        "app.json": "{not json",
        "Procfile": "web: gunicorn 'unbalanced app:app\n",
        "compose.yml": "- just\n- a list\n",
        "render.yaml": "services: 3\n",
        "Dockerfile": "# only a comment\n",
    })
    assert [s.server for s in d.servers] == ["gunicorn"]
    notes = "\n".join(d.notes)
    assert "fly.toml: not valid TOML" in notes
    assert "app.json: not valid JSON" in notes
    assert "Procfile: unbalanced quotes in" in notes
    assert "compose.yml: not a mapping at the top; not read" in notes
    assert "Dockerfile: no FROM instruction; not a Dockerfile?" in notes


def test_empty_quoted_dotenv_value_next_to_procfile(tmp_path):
    d = deploy(tmp_path, {"Procfile": "web: uvicorn app:app --workers $W\n", ".env": 'W="\nX=\n'})
    s = only(d)
    assert (s.workers, s.workers_source) == (
        None, "--workers $W in Procfile web; W=\" in .env: '' is not a number")


def test_empty_input(tmp_path):
    d = read_deployment(tmp_path, [])
    assert d == Deployment()
    assert d.max_workers() == (None, None)
    assert d.database_service() is None
