"""Domain errors, mapped to HTTP statuses in app.main."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400


class NotFoundError(DomainError):
    status_code = 404

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")


class PermissionDenied(DomainError):
    status_code = 403

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"no access to {kind} {key}")


class ConflictError(DomainError):
    status_code = 409
