from __future__ import annotations

import re
from collections.abc import Iterator

from prodaudit.findings import Dimension, Evidence, Finding, Severity
from prodaudit.rules.base import ProjectRule, RuleMeta, register

BACKUP = re.compile(r"(backup|pg_dump|pgbackrest|wal-g|walg|barman|restic|borg)", re.IGNORECASE)


@register
class NoDbBackup(ProjectRule):
    """
    ## What it does
    Reports a deployment (docker-compose) that runs a database service with no backup:
    no service whose name, image or command mentions backup / pg_dump / pgbackrest /
    wal-g / barman / restic / borg.

    ## Why is this bad?
    The data lives in one container volume. A deleted volume, a bad migration or a full
    disk loses every user's data with no way back (seed 001 #44).

    ## Example
    ```yaml
    services:
      db:
        image: postgres:16
        volumes:
          - pgdata:/var/lib/postgresql/data
    volumes:
      pgdata: {}
    ```

    ## Use instead
    ```yaml
    services:
      db:
        image: postgres:16
      backup:
        image: prodrigestivill/postgres-backup-local:16
        environment:
          POSTGRES_HOST: db
    ```

    ## Known limitations
    Backups made outside the repository (managed databases, host cron jobs) are not
    visible: suppress with that reason.
    """

    meta = RuleMeta(
        id="PA905", slug="no-db-backup", family="readiness", dimension=Dimension.RELIABILITY,
        severity=Severity.MEDIUM, summary="database service in the deployment with no backup job",
        effort_minutes=120,
        fix="Add a scheduled backup (a pg_dump/wal-g service or the host's backup) and test a restore.",
    )

    def check_project(self, project) -> Iterator[Finding]:
        deployment = project.deployment
        database = deployment.database_service()
        if database is None:
            return
        for service in deployment.services:
            if BACKUP.search(f"{service.name} {service.image}"):
                return
        for server in deployment.servers:
            if BACKUP.search(server.command):
                return
        yield self.finding(
            f"Database service `{database.name}` ({database.image or database.kind}) has no backup job "
            f"in the deployment", database.location, anchor=f"backup:{database.name}",
            evidence=[Evidence(database.location, "database service declared here"),
                      Evidence(database.location, "searched compose services, images and commands for "
                                                  "backup/pg_dump/pgbackrest/wal-g/barman/restic/borg: none")])
