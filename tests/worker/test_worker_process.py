"""Submissions through real worker and index processes: imported once, searchable, even
when the worker is killed with SIGKILL five times in the middle of batches."""

from __future__ import annotations

import asyncio
import random
import time
import uuid

import numpy as np
import pytest
from sqlalchemy import func, select

from libs.chromaprint_cy.query import extract_query
from libs.common import fingerprint_codec, submission_queue
from libs.common.db import Database, Databases
from libs.common.index_client import IndexClient
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from libs.common.models.ingest import (
    FingerprintSource,
    Submission,
    SubmissionResult,
    TrackMBIDSource,
)
from libs.common.nats import connect
from libs.common.settings import Settings
from tests.processes import ServiceProcess

IMPORT_TIMEOUT = 120.0


def random_fingerprints(count: int, seed: int) -> list[np.ndarray]:
    """Unrelated audio: random items share no index terms and score ~0 with compare2."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 2**32, size=200, dtype=np.uint32) for _ in range(count)]


async def submit_all(
    databases: Databases, settings: Settings, app_ids: tuple[int, int], fps: list[np.ndarray]
) -> list[int]:
    """What the API does: store the rows in one transaction, then publish each id."""
    async with databases.session(Database.INGEST) as session:
        subs = [
            Submission(
                fingerprint=fingerprint_codec.to_int4(fp), length=100, mbid=uuid.uuid4(),
                account_id=app_ids[0],
                application_id=app_ids[1], application_version="1",
            )
            for fp in fps
        ]  # fmt: skip
        session.add_all(subs)
        await session.commit()
        ids = [sub.id for sub in subs]
    nc = await connect(settings, "test-submit")
    for sid in ids:
        await submission_queue.publish(nc.jetstream(), settings, sid)
    await nc.close()
    return ids


async def scalar(databases: Databases, db: Database, query: object) -> int:
    async with databases.session(db) as session:
        return int(await session.scalar(query) or 0)  # type: ignore[call-overload]


async def wait_imported(databases: Databases, count: int) -> None:
    handled = select(func.count()).select_from(Submission).where(Submission.handled)
    deadline = time.monotonic() + IMPORT_TIMEOUT
    while await scalar(databases, Database.INGEST, handled) < count:
        assert time.monotonic() < deadline, "submissions were not all imported in time"
        await asyncio.sleep(0.5)


async def assert_searchable(
    settings: Settings, databases: Databases, fps: list[np.ndarray]
) -> None:
    """Every imported fingerprint is the top hit for its own terms (eventually)."""
    async with databases.session(Database.FINGERPRINT) as session:
        rows = {
            tuple(np.asarray(r.fingerprint, dtype=np.int64) & 0xFFFFFFFF): r.id
            for r in await session.execute(select(Fingerprint.id, Fingerprint.fingerprint))
        }
    async with IndexClient.from_settings(settings) as client:
        missing: list[int] = []
        for _ in range(60):
            missing = []
            for fp in fps:
                fp_id = rows[tuple(int(v) for v in fp)]
                result = await client.search(extract_query(fp).tolist(), limit=1)
                if [m.id for m in result.matches] != [fp_id]:
                    missing.append(fp_id)
            if not missing:
                return
            await asyncio.sleep(0.5)
    pytest.fail(f"fingerprints not found by the index: {missing[:10]} ({len(missing)})")


async def assert_exactly_once(databases: Databases, count: int) -> None:
    fp = Database.FINGERPRINT
    ingest = Database.INGEST
    assert await scalar(databases, fp, select(func.count()).select_from(Fingerprint)) == count
    assert await scalar(databases, fp, select(func.count()).select_from(Track)) == count
    assert await scalar(databases, fp, select(func.sum(TrackMBID.submission_count))) == count
    assert await scalar(databases, fp, select(func.max(Fingerprint.submission_count))) == 1
    for model in (SubmissionResult, FingerprintSource, TrackMBIDSource):
        assert await scalar(databases, ingest, select(func.count()).select_from(model)) == count


async def test_submissions_are_imported_and_searchable(
    stack_settings: Settings,
    databases: Databases,
    app_ids: tuple[int, int],
    processes: dict[str, ServiceProcess],
) -> None:
    processes["worker"].start()
    fps = random_fingerprints(40, seed=1)
    await submit_all(databases, stack_settings, app_ids, fps)
    await wait_imported(databases, len(fps))
    await assert_exactly_once(databases, len(fps))
    await assert_searchable(stack_settings, databases, fps)


async def test_worker_killed_mid_batch_imports_everything_exactly_once(
    stack_settings: Settings,
    databases: Databases,
    app_ids: tuple[int, int],
    processes: dict[str, ServiceProcess],
) -> None:
    fps = random_fingerprints(5000, seed=2)
    await submit_all(databases, stack_settings, app_ids, fps)
    rng = random.Random(3)
    worker = processes["worker"]
    for _ in range(5):
        worker.start()
        await asyncio.sleep(rng.uniform(0.1, 0.8))
        worker.kill()
    handled = select(func.count()).select_from(Submission).where(Submission.handled)
    interrupted = await scalar(databases, Database.INGEST, handled)
    assert 0 < interrupted < len(fps), "the kills did not land in the middle of the work"
    worker.start()
    await wait_imported(databases, len(fps))
    await assert_exactly_once(databases, len(fps))
    await assert_searchable(stack_settings, databases, fps)
