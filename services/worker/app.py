"""The import worker process: the SUBMISSIONS consumer, with health and metrics on port 5002."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import numpy as np
from fastapi import FastAPI

from libs.common.db import Database
from libs.common.index_client import FULL_SEARCH, IndexClient
from libs.common.service import MainLoop, Resources, build_resources, create_service_app
from libs.common.settings import Settings
from services.worker.consumer import Consumer
from services.worker.importer import Importer
from services.worker.matching import Rules

log = logging.getLogger(__name__)

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)


class Worker:
    """The importer's dependencies and the consumer loop's body."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = IndexClient.from_settings(settings)

    async def search_many(self, queries: Sequence[np.ndarray]) -> list[list[int]]:
        """The importer's candidates: the original's full search (top 20, 10% of the best),
        for a whole batch in one request per shard."""
        results = await self.index.search_many(
            queries, limit=FULL_SEARCH.limit, score_pct=FULL_SEARCH.score_pct
        )
        failed = sorted({shard for r in results for shard in r.failed_shards})
        if failed:
            raise RuntimeError(f"index shards {failed} did not answer")
        return [[match.id for match in r.matches] for r in results]

    async def consume(self, resources: Resources, stop: asyncio.Event) -> None:
        importer = Importer(
            resources.databases,
            self.search_many,
            Rules.from_settings(self.settings),
            self.settings.fingerprint_min_unique_items,
        )
        nc = await resources.nats_ready()
        await Consumer(nc, self.settings, importer).run(stop)


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(settings, "worker", DATABASES, uses_redis=False, uses_nats=True)
    worker = Worker(settings)
    loop = MainLoop("submission consumer", worker.consume)

    async def close(resources: Resources) -> None:
        await loop.close(resources)
        await worker.index.close()

    return create_service_app(
        resources,
        title="AcoustID import worker",
        description="Health and metrics of the submission import worker.",
        on_start=loop.start,
        on_stop=close,
    )
