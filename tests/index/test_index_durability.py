"""Acknowledged writes survive SIGKILL of the NATS server and the index together.

With ``index_write_ack=fsync`` (the default) the index fsyncs its own log of a write before
it answers, so the write survives even a NATS server that lost what it had not synced: the
second test throws the NATS store away entirely, as a power loss could before its sync.
Both run a private nats-server on a free port, never the shared one.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest

from libs.common.settings import Settings
from tests.conftest import free_port
from tests.index.conftest import index_settings
from tests.index.test_index_process import start, wait_ready
from tests.worker.test_worker_faults import NatsServer

DOCS, BATCH = 600, 50


def doc_terms(id_: int) -> list[int]:
    rng = np.random.default_rng(id_)
    return (rng.choice(2**28, 120, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


async def write_acknowledged(client: httpx.AsyncClient) -> list[int]:
    acknowledged = []
    for first in range(1, DOCS + 1, BATCH):
        ids = list(range(first, first + BATCH))
        body = {"changes": [{"insert": {"id": i, "hashes": doc_terms(i)}} for i in ids]}
        for _ in range(50):  # 503 until the index has created FPINDEX on the new server
            resp = await client.post("/main/_update", json=body)
            if resp.status_code != 503:
                break
            await asyncio.sleep(0.1)
        assert resp.status_code == 200, resp.text
        acknowledged += ids
    return acknowledged


async def assert_all_searchable(client: httpx.AsyncClient, ids: list[int]) -> None:
    for _ in range(300):
        status = (await client.get("/main/_status")).json()
        resp = await client.post("/main/_search", json={"query": doc_terms(ids[-1])})
        if resp.json()["results"][:1] == [{"id": ids[-1], "score": 120}]:
            break
        await asyncio.sleep(0.1)
    missing = []
    for id_ in ids:
        resp = await client.post("/main/_search", json={"query": doc_terms(id_), "limit": 1})
        if resp.json()["results"] != [{"id": id_, "score": 120}]:
            missing.append(id_)
    assert not missing, f"{len(missing)} acknowledged documents lost (status {status})"


@pytest.mark.parametrize("lose_nats_store", [False, True], ids=["nats-kept", "nats-store-lost"])
async def test_acknowledged_writes_survive_sigkill_of_nats_and_index(
    tmp_path: Path, lose_nats_store: bool
) -> None:
    nats = NatsServer(free_port(), tmp_path / "nats")
    nats.start()
    settings: Settings = index_settings(
        tmp_path / "index",
        nats_servers=[f"nats://127.0.0.1:{nats.port}"],
        # Writes stay in memory segments and the log: no checkpoint rescues them.
        index_checkpoint_age=3600.0,
        index_checkpoint_postings=10_000_000,
    )
    assert settings.index_write_ack == "fsync"
    url = f"http://127.0.0.1:{settings.index_port}"
    proc = start(settings, tmp_path / "index.log")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await wait_ready(client, proc)
            acknowledged = await write_acknowledged(client)
            assert nats.proc is not None
            kill(nats.proc)
            kill(proc)
            if lose_nats_store:
                shutil.rmtree(nats.store)
            nats.start()
            proc = start(settings, tmp_path / "index.log")
            await wait_ready(client, proc)
            await assert_all_searchable(client, acknowledged)
    finally:
        if proc.poll() is None:
            kill(proc)
        nats.stop()
