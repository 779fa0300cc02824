"""The import worker process: the SUBMISSIONS consumer, with health and metrics on port 5002."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import numpy as np
from fastapi import FastAPI

from libs.common.db import Database
from libs.common.index_client import IndexClient
from libs.common.service import Resources, build_resources, create_service_app
from libs.common.settings import Settings
from services.worker.consumer import Consumer
from services.worker.importer import Importer
from services.worker.matching import Rules

log = logging.getLogger(__name__)

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)
CANDIDATES = 20
CANDIDATE_SCORE_PCT = 10


class Worker:
    """The consumer task and what it holds, started and stopped with the app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = IndexClient.from_settings(settings)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def search(self, terms: np.ndarray) -> Sequence[int]:
        """The importer's candidates: the original's full search (top 20, 10% of the best)."""
        result = await self.index.search(
            terms.tolist(), limit=CANDIDATES, score_pct=CANDIDATE_SCORE_PCT
        )
        if not result.complete:
            raise RuntimeError(f"index shards {result.failed_shards} did not answer")
        return [match.id for match in result.matches]

    async def start(self, resources: Resources) -> None:
        importer = Importer(
            resources.databases,
            self.search,
            Rules.from_settings(self.settings),
            self.settings.fingerprint_min_unique_items,
        )

        async def consume() -> None:
            nc = await resources.nats_ready()
            await Consumer(nc, self.settings, importer).run(self.stop)

        self.task = asyncio.create_task(consume())
        self.task.add_done_callback(_log_exit)

    async def close(self, resources: Resources) -> None:
        self.stop.set()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, timeout=30)
            except (TimeoutError, asyncio.CancelledError):
                self.task.cancel()
        await self.index.close()


def _log_exit(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        if task.exception() is not None:
            log.error("consumer stopped", exc_info=task.exception())


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(settings, "worker", DATABASES, uses_redis=False, uses_nats=True)
    worker = Worker(settings)
    return create_service_app(
        resources,
        title="AcoustID import worker",
        description="Health and metrics of the submission import worker.",
        on_start=worker.start,
        on_stop=worker.close,
    )
