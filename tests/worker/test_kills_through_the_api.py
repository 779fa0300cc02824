"""Crashes on the real submission path: fingerprints sent through the API (HTTP) to the
worker and index processes, with audio repeated so imports reuse fingerprints and join
tracks; the worker is SIGKILLed mid-import, and then the API mid-submit. Nothing the API
answered ``pending`` is lost and nothing is imported twice."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import func, select

from libs.chromaprint_cy.codec import encode_fingerprint
from libs.common.apikeys import generate_api_key
from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application
from libs.common.models.fingerprint import Fingerprint, TrackMBID
from libs.common.models.ingest import Submission, SubmissionResult
from libs.common.settings import Settings
from tests.conftest import free_port
from tests.processes import ServiceProcess
from tests.worker.importing import scalar, wait_imported

BASES = 40
COPIES = 4
"""Each base recording is sent this many times: twice exactly (the second reuses the first's
fingerprint) and twice re-encoded (a few bits flipped: the same track)."""


def _variants(seed: int) -> list[tuple[np.ndarray, str]]:
    """(fingerprint, MBID) of every submission, shuffled so repeats land in other batches."""
    rng = np.random.default_rng(seed)
    out: list[tuple[np.ndarray, str]] = []
    for _ in range(BASES):
        base = rng.integers(0, 2**32, size=300, dtype=np.uint32)
        mbid = str(uuid.uuid4())
        out += [(base, mbid), (base, mbid)]
        for _ in range(COPIES - 2):
            flips = np.uint32(1) << rng.integers(0, 32, len(base)).astype(np.uint32)
            mask = rng.random(len(base)) < 0.15
            out.append((base ^ np.where(mask, flips, 0).astype(np.uint32), mbid))
    random.Random(seed).shuffle(out)
    return out


@pytest.fixture
async def client_keys(databases: Databases) -> tuple[str, str]:
    async with databases.session(Database.APP) as session:
        account = Account(name="kill test", apikey=generate_api_key())
        session.add(account)
        await session.flush()
        session.add(
            Application(name="k", version="1", apikey=generate_api_key(), account_id=account.id)
        )
        await session.commit()
        app_key = await session.scalar(
            select(Application.apikey).where(Application.account_id == account.id)
        )
        return str(app_key), account.apikey


@pytest.fixture
def api_settings(stack_settings: Settings) -> Settings:
    return stack_settings.model_copy(
        update={
            "api_port": free_port(),
            "cron_metrics_port": free_port(),
            "rate_limit_ip": 100000.0,
            "rate_limit_application": 100000.0,
            "rate_limit_global": 100000.0,
            "outbox_delay": 1.0,
        }
    )


@pytest.fixture
def services(
    api_settings: Settings, processes: dict[str, ServiceProcess], tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """api, worker and cron beside the index of ``processes``, not started; stopped after."""
    ports = {
        "api": api_settings.api_port,
        "worker": api_settings.worker_metrics_port,
        "cron": api_settings.cron_metrics_port,
    }
    made = {
        name: ServiceProcess(name, api_settings, port, tmp_path / f"{name}.log")
        for name, port in ports.items()
    }
    yield made
    for process in made.values():
        process.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def _submit(
    http: httpx.AsyncClient, url: str, keys: tuple[str, str], fp: np.ndarray, mbid: str
) -> list[int]:
    """The ids the API answered ``pending`` for one submission, or [] if it died first."""
    data = {"client": keys[0], "user": keys[1], "duration": "180", "mbid": mbid}
    data["fingerprint"] = encode_fingerprint(fp)
    try:
        answer = await http.post(f"{url}/v2/submit", data=data)
    except httpx.HTTPError:
        return []
    if answer.status_code != 200:
        return []
    body = answer.json()
    assert all(s["status"] == "pending" for s in body["submissions"])
    return [s["id"] for s in body["submissions"]]


async def _assert_each_imported_once(databases: Databases, answered: list[int]) -> None:
    stored = await scalar(databases, Database.INGEST, select(func.count()).select_from(Submission))
    await wait_imported(databases, stored)
    async with databases.session(Database.INGEST) as session:
        results = dict(
            (
                await session.execute(
                    select(SubmissionResult.submission_id, func.count()).group_by(
                        SubmissionResult.submission_id
                    )
                )
            ).all()
        )
    assert set(answered) <= set(results), "a submission answered pending was lost"
    assert set(results.values()) == {1}
    assert len(results) == stored
    fp = Database.FINGERPRINT
    assert await scalar(databases, fp, select(func.sum(Fingerprint.submission_count))) == stored
    assert await scalar(databases, fp, select(func.sum(TrackMBID.submission_count))) == stored
    # Exact repeats reused a fingerprint instead of storing a second copy.
    assert await scalar(databases, fp, select(func.count()).select_from(Fingerprint)) < stored


async def test_worker_killed_while_importing_repeated_audio_from_the_api(
    databases: Databases,
    client_keys: tuple[str, str],
    services: dict[str, ServiceProcess],
    http: httpx.AsyncClient,
) -> None:
    api, worker = services["api"].start(), services["worker"].start()
    answered: list[int] = []
    rng = random.Random(11)
    subs = _variants(seed=7)
    for n, (fp, mbid) in enumerate(subs):
        answered += await _submit(http, api.url, client_keys, fp, mbid)
        if n % 40 == 39:
            worker.kill()
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            worker.start()
    assert len(answered) == len(subs)
    worker.kill()
    worker.start()
    await _assert_each_imported_once(databases, answered)


async def test_api_killed_mid_submit_loses_nothing_it_answered(
    databases: Databases,
    client_keys: tuple[str, str],
    services: dict[str, ServiceProcess],
    http: httpx.AsyncClient,
) -> None:
    api = services["api"].start()
    services["worker"].start()
    subs = _variants(seed=8)
    batches = [subs[i : i + 16] for i in range(0, len(subs), 16)]
    answered: list[int] = []
    for n, batch in enumerate(batches):
        sending = asyncio.gather(*(_submit(http, api.url, client_keys, *s) for s in batch))
        if n == 4:  # the kill lands while a batch of submits is in flight
            await asyncio.sleep(0.05)
            api.kill()
        got = await sending
        if n == 4:
            assert sum(len(ids) for ids in got) < len(batch)
            api.start()
        answered += [i for ids in got for i in ids]
    services["cron"].start()  # its outbox sweep queues what was stored but never published
    await _assert_each_imported_once(databases, answered)
