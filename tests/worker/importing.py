"""What the worker tests share: an importer whose index is the whole fingerprint table,
submissions stored and published the way the API does it, and the checks that an import
happened exactly once and is searchable."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

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
from services.worker.importer import BatchSearcher, Importer
from services.worker.matching import Rules

MBID = uuid.UUID("b7ffd9e0-5a8e-4d2c-9b1e-1f1f1f1f1f1f")


def every_fingerprint(databases: Databases) -> BatchSearcher:
    """Every stored fingerprint is a candidate of every query: the index's job, done
    exhaustively, so the import rules are tested apart from the index's ranking. It answers
    the batch as the production ``search_many`` does, one list per query."""

    async def search_many(queries: Sequence[np.ndarray]) -> list[list[int]]:
        async with databases.session(Database.FINGERPRINT) as session:
            ids = list(await session.scalars(select(Fingerprint.id).order_by(Fingerprint.id)))
        return [ids for _ in queries]

    return search_many


def importer(databases: Databases, settings: Settings) -> Importer:
    return Importer(
        databases, every_fingerprint(databases), Rules.from_settings(settings), min_unique=80
    )


async def submit(
    databases: Databases, app_ids: tuple[int, int], items: np.ndarray, **fields: Any
) -> int:
    account_id, application_id = app_ids
    values: dict[str, Any] = {"mbid": MBID, "length": 125, **fields}
    async with databases.session(Database.INGEST) as session:
        sub = Submission(
            fingerprint=fingerprint_codec.to_int4(items),
            account_id=account_id,
            application_id=application_id,
            application_version="1.0",
            **values,
        )
        session.add(sub)
        await session.commit()
        return sub.id


async def count(databases: Databases, db: Database, model: Any) -> int:
    async with databases.session(db) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


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
                result = await client.search(extract_query(fp), limit=1)
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
