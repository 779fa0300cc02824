"""Fixtures of the worker tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application
from libs.common.nats import delete_streams
from libs.common.settings import Settings
from tests.conftest import databases_at_head, free_port, settings_for_run
from tests.processes import ServiceProcess

FP_TABLES = "fingerprint, track, track_mbid, submission_import"


@pytest.fixture(scope="session")
def migrated(run_id: str, local_servers: object) -> Iterator[Settings]:
    """Databases of the worker tests' own: they empty tables and restart ids, which must
    not change what another package's tests see, whichever order the packages run in."""
    with databases_at_head(settings_for_run(f"{run_id}w")) as ready:
        yield ready


@pytest.fixture
async def app_ids(databases: Databases) -> tuple[int, int]:
    async with databases.session(Database.APP) as session:
        account = Account(name="importer test", apikey=uuid.uuid4().hex[:10])
        session.add(account)
        await session.flush()
        app = Application(
            name="t", version="1", apikey=uuid.uuid4().hex[:10], account_id=account.id
        )
        session.add(app)
        await session.commit()
        return account.id, app.id


@pytest.fixture
def stack_settings(migrated: Settings, run_id: str, tmp_path: Path) -> Iterator[Settings]:
    index_port = free_port()
    settings = migrated.model_copy(
        update={
            "nats_prefix": f"test{run_id}w{uuid.uuid4().hex[:4]}.",
            "index_port": index_port,
            "index_legacy_port": free_port(),
            "index_urls": [f"http://127.0.0.1:{index_port}"],
            "index_data_dir": tmp_path / "index",
            "worker_metrics_port": free_port(),
            "worker_ack_wait": 3.0,
        }
    )
    yield settings
    asyncio.run(delete_streams(settings))


@pytest.fixture
async def databases(stack_settings: Settings) -> AsyncIterator[Databases]:
    dbs = Databases(stack_settings)
    async with dbs.engine(Database.FINGERPRINT).begin() as conn:
        await conn.execute(text(f"TRUNCATE {FP_TABLES} RESTART IDENTITY CASCADE"))
    async with dbs.engine(Database.INGEST).begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE submission, submission_result, fingerprint_source, track_mbid_source, "
                "track_puid_source"
            )
        )
    yield dbs
    await dbs.dispose()


@pytest.fixture
def processes(stack_settings: Settings, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    s = stack_settings
    procs = {
        "index": ServiceProcess("index", s, s.index_port, tmp_path / "index.log"),
        "worker": ServiceProcess("worker", s, s.worker_metrics_port, tmp_path / "worker.log"),
    }
    procs["index"].start()
    yield procs
    for proc in procs.values():
        proc.stop()
