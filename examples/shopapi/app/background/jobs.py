"""A tiny in-process job runner for admin tasks that take too long for a request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass
class Job:
    name: str
    func: Callable[..., Awaitable[Any]]
    kwargs: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


class JobRunner:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Job] = asyncio.Queue()
        self.statuses: dict[str, JobStatus] = {}
        self.results: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="job-runner")

    async def stop(self) -> None:
        if self._worker is None:
            return
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    async def enqueue(self, name: str, func: Callable[..., Awaitable[Any]], **kwargs: Any) -> str:
        job = Job(name=name, func=func, kwargs=kwargs)
        with self._lock:
            self.statuses[job.id] = JobStatus.QUEUED
        await self.queue.put(job)
        log.info("queued job %s (%s)", job.id, name)
        return job.id

    def status(self, job_id: str) -> JobStatus | None:
        return self.statuses.get(job_id)

    async def _run(self) -> None:
        while True:
            job = await self.queue.get()
            self.statuses[job.id] = JobStatus.RUNNING
            try:
                self.results[job.id] = await job.func(**job.kwargs)
                self.statuses[job.id] = JobStatus.DONE
            except Exception as e:
                self.statuses[job.id] = JobStatus.FAILED
                log.error(f"job {job.id} ({job.name}) failed: {e}")
            finally:
                self.queue.task_done()


job_runner = JobRunner()
