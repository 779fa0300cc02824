"""The worker rides out a NATS restart and PostgreSQL connections killed mid-transaction."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from libs.common.db import Database, Databases
from libs.common.settings import Settings
from tests.conftest import free_port
from tests.processes import ServiceProcess
from tests.worker.importing import (
    assert_exactly_once,
    assert_searchable,
    random_fingerprints,
    submit_all,
    wait_imported,
)


class NatsServer:
    """A private nats-server, so restarting it disturbs nothing else on the machine."""

    def __init__(self, port: int, store: Path) -> None:
        self.port = port
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            "nats-server",
            "-a",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-js",
            "-sd",
            str(self.store),
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def private_nats(stack_settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, NatsServer]]:
    server = NatsServer(free_port(), tmp_path / "nats")
    server.start()
    settings = stack_settings.model_copy(
        update={"nats_servers": [f"nats://127.0.0.1:{server.port}"]}
    )
    yield settings, server
    server.stop()


async def test_nats_restart_during_imports(
    private_nats: tuple[Settings, NatsServer],
    databases: Databases,
    app_ids: tuple[int, int],
    tmp_path: Path,
) -> None:
    settings, nats = private_nats
    index = ServiceProcess("index", settings, settings.index_port, tmp_path / "i.log").start()
    worker = ServiceProcess(
        "worker", settings, settings.worker_metrics_port, tmp_path / "w.log"
    ).start()
    try:
        fps = random_fingerprints(200, seed=5)
        await submit_all(databases, settings, app_ids, fps)
        await asyncio.sleep(0.5)
        nats.stop()
        await asyncio.sleep(2.0)
        nats.start()
        await wait_imported(databases, len(fps))
        await assert_exactly_once(databases, len(fps))
        await assert_searchable(settings, databases, fps)
    finally:
        worker.stop()
        index.stop()


async def test_postgres_connections_killed_mid_import(
    stack_settings: Settings,
    databases: Databases,
    app_ids: tuple[int, int],
    processes: dict[str, ServiceProcess],
) -> None:
    processes["worker"].start()
    fps = random_fingerprints(300, seed=6)
    await submit_all(databases, stack_settings, app_ids, fps)
    killed = 0
    async with databases.engine(Database.INGEST).connect() as admin:
        for _ in range(8):
            await asyncio.sleep(0.3)
            result = await admin.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = ANY(:names) AND pid <> pg_backend_pid()"
                ),
                {"names": [_dbname(stack_settings, db) for db in Database]},
            )
            killed += int(result.scalar_one())
    assert killed > 0
    await databases.dispose()
    await wait_imported(databases, len(fps))
    await assert_exactly_once(databases, len(fps))


def _dbname(settings: Settings, db: Database) -> str:
    from libs.common.db import database_url

    return database_url(settings, db).rsplit("/", 1)[1]
