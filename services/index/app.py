"""The index process: HTTP API, legacy line protocol, FPINDEX consumer and maintenance.

HTTP answers at once; the index opens behind it (``/main/_health`` says ``LOADING``), so a
long peer bootstrap or the checksum pass over a large index never looks like a dead
process to a liveness probe. A damaged segment leaves the index unserved, with the file
named in the log, ``/main/_health`` and ``/_health``: it never answers from wrong data.
An empty data directory with ``ACOUSTID_INDEX_PEERS`` set first copies a peer's snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from fastapi import FastAPI

from libs.common.service import Resources, build_resources, create_service_app
from libs.common.settings import Settings
from services.index import legacy, manifest, memory, metrics
from services.index.api import IndexState, routes
from services.index.replication import Replicator, bootstrap
from services.index.store import Store, lock_directory
from services.index.wal import Wal

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL = 0.25
WAL_DIR = "wal"


async def maintain(store: Store) -> None:
    """Merges and checkpoints in a worker thread, one step at a time, forever."""
    while True:
        try:
            while await asyncio.to_thread(store.maintain):
                pass
        except Exception:
            log.exception("index maintenance failed; retrying")
            await asyncio.sleep(5.0)
        await asyncio.sleep(MAINTENANCE_INTERVAL)


async def open_store(settings: Settings) -> Store:
    directory = settings.index_data_dir
    if manifest.load(directory) is None and settings.index_peers:
        await bootstrap(directory, settings.index_peers, settings.index_name, 600.0)
    return await asyncio.to_thread(
        Store.open,
        directory,
        checkpoint_postings=settings.index_checkpoint_postings,
        checkpoint_age=settings.index_checkpoint_age,
    )


def create_app(settings: Settings) -> FastAPI:
    memory.return_large_blocks_to_the_kernel()
    resources = build_resources(settings, "index", [], uses_redis=False, uses_nats=True)
    state = IndexState(
        name=settings.index_name,
        write_timeout=settings.index_timeout * 10,
        secret=settings.index_secret,
    )
    tasks: list[asyncio.Task[None]] = []
    servers: list[asyncio.Server] = []
    locks: list[int] = []

    async def load(res: Resources) -> None:
        """Opens (or bootstraps) the index while HTTP already answers ``LOADING``."""
        try:
            store = await open_store(settings)
        except Exception as exc:
            state.load_error = f"{type(exc).__name__}: {exc}"
            log.exception("index %s cannot be served", settings.index_name)
            return
        wal = None
        if settings.index_write_ack == "fsync":
            wal = Wal(store.directory / WAL_DIR, keep_seconds=settings.index_wal_keep)
        replicator = Replicator(settings, store, lambda: res.nats, wal)
        store.on_durable = replicator.notify_durable(asyncio.get_running_loop())
        state.store, state.replicator = store, replicator
        metrics.COLLECTOR.stores[settings.index_name] = store
        tasks.append(asyncio.create_task(replicator.run(), name="fpindex-consumer"))
        tasks.append(asyncio.create_task(maintain(store), name="fpindex-maintenance"))
        log.info(
            "index %s shard %d/%d at version %d",
            settings.index_name,
            settings.index_shard,
            settings.index_shards,
            store.version,
        )

    async def loaded() -> None:
        if state.store is None:
            raise RuntimeError(state.load_error or "loading")

    async def on_start(res: Resources) -> None:
        locks.append(lock_directory(settings.index_data_dir))
        res.health.add("index", loaded)
        servers.append(await legacy.serve(state, settings.host, settings.index_legacy_port))
        tasks.append(asyncio.create_task(load(res), name="fpindex-load"))

    async def on_stop(res: Resources) -> None:
        for server in servers:
            server.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if state.store is not None:
            await asyncio.to_thread(state.store.maintain, force_checkpoint=True)
        for fd in locks:
            os.close(fd)

    searches, others = routes(state)
    app = create_service_app(
        resources,
        title="AcoustID index",
        description="Fingerprint index: fpindex's HTTP API over a Cython kernel",
        on_start=on_start,
        on_stop=on_stop,
        docs=True,
        routes=searches,
        fallback_routes=others,
    )
    app.state.index = state
    return app
