"""Replication log bounds: FPINDEX is purged below what every replica checkpointed, and a
replica the purge left behind copies a peer instead of missing changes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY

from libs.common import index_messages
from libs.common import nats as nats_helpers
from libs.common.index_messages import Insert
from libs.common.nats import delete_streams
from services.index import replication
from tests.index.conftest import index_settings, running, served


async def test_trimmed_stream_is_reported_as_a_gap(tmp_path, caplog):
    settings = index_settings(tmp_path / "data")
    try:
        async with running(settings) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://index") as c:
                body = {"changes": [{"insert": {"id": 1, "hashes": [16, 32]}}]}
                assert (await c.post("/main/_update", json=body)).status_code == 200
        nc = await nats_helpers.connect(settings, "index-tests")
        js = nc.jetstream()
        subject = nats_helpers.fpindex_subject(settings, 0)
        for i in (2, 3):
            await js.publish(
                subject, index_messages.encode([Insert(i, index_messages.check_terms([48]))])
            )
        await js.purge_stream(settings.stream(nats_helpers.FPINDEX))
        await nc.close()
        before = REGISTRY.get_sample_value("fpindex_replication_gaps_total") or 0
        async with running(settings):
            pass
        assert REGISTRY.get_sample_value("fpindex_replication_gaps_total") == before + 1
        assert "no longer holds sequences 2..3" in caplog.text
    finally:
        await delete_streams(settings)


def doc_terms(seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return (rng.choice(2**28, 120, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


async def insert(client: httpx.AsyncClient, ids: range) -> int:
    changes = [{"insert": {"id": i, "hashes": doc_terms(i)}} for i in ids]
    resp = await client.post("/main/_update", json={"changes": changes})
    assert resp.status_code == 200
    return resp.json()["version"]


async def checkpointed(client: httpx.AsyncClient, version: int) -> None:
    for _ in range(200):
        if (await client.get("/main/_status")).json()["file_version"] >= version:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"version {version} never checkpointed")


async def held(settings, js) -> int:
    """Messages FPINDEX still holds on shard 0's subject."""
    info = await js.stream_info(
        settings.stream(nats_helpers.FPINDEX),
        subjects_filter=nats_helpers.fpindex_subject(settings, 0),
    )
    return sum((info.state.subjects or {}).values())


async def eventually(predicate, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.1)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.fixture
def fast_trim(monkeypatch):
    monkeypatch.setattr(replication, "TRIM_INTERVAL", 0.1)


async def test_log_is_purged_below_what_every_replica_checkpointed(tmp_path, fast_trim):
    run = uuid.uuid4().hex[:8]
    a = index_settings(tmp_path / "a", run=run, index_checkpoint_age=0.2)
    b = index_settings(tmp_path / "b", run=run, index_checkpoint_age=0.2)
    nc = await nats_helpers.connect(a, "index-tests")
    js = nc.jetstream()
    try:
        async with served(a) as (url_a,), httpx.AsyncClient(base_url=url_a) as ca:
            async with served(b) as (url_b,), httpx.AsyncClient(base_url=url_b) as cb:
                version = await insert(ca, range(1, 50))
                await checkpointed(cb, version)
                await checkpointed(ca, version)
                await eventually(lambda: _is(held(a, js), 0))
            # b is down; its consumer keeps its place, so a checkpoint of a purges nothing.
            version = await insert(ca, range(50, 60))
            await checkpointed(ca, version)
            await asyncio.sleep(1.0)
            assert await held(a, js) == 1
            async with served(b) as (url_b,), httpx.AsyncClient(base_url=url_b) as cb:
                await checkpointed(cb, version)
                await eventually(lambda: _is(held(a, js), 0))
                resp = await cb.post("/main/_search", json={"query": doc_terms(55)})
                assert resp.json() == {"results": [{"id": 55, "score": 120}]}
    finally:
        await nc.close()
        await delete_streams(a)


async def _is(value, expected) -> bool:
    return await value == expected


async def test_replica_behind_the_purged_log_copies_a_peer(tmp_path, fast_trim):
    run = uuid.uuid4().hex[:8]
    a = index_settings(tmp_path / "a", run=run, index_checkpoint_age=0.2)
    nc = await nats_helpers.connect(a, "index-tests")
    js = nc.jetstream()
    stream = a.stream(nats_helpers.FPINDEX)
    try:
        async with served(a) as (url_a,), httpx.AsyncClient(base_url=url_a) as ca:
            b = index_settings(
                tmp_path / "b", run=run, index_checkpoint_age=0.2, index_peers=[url_a]
            )
            async with served(b) as (url_b,), httpx.AsyncClient(base_url=url_b) as cb:
                version = await insert(ca, range(1, 20))
                await checkpointed(cb, version)
            # b's consumer goes (removed by hand, or b was away past the log's max age):
            # nothing holds the log for it any more, and a purges past it.
            b_replica = (tmp_path / "b" / "replica_id").read_text().strip()
            for info in await js.consumers_info(stream):
                if b_replica in info.name:
                    await js.delete_consumer(stream, info.name)
            version = await insert(ca, range(20, 40))
            await checkpointed(ca, version)
            await eventually(lambda: _is(held(a, js), 0))
            gaps = REGISTRY.get_sample_value("fpindex_replication_gaps_total") or 0
            async with served(b) as (url_b,), httpx.AsyncClient(base_url=url_b) as cb:
                assert REGISTRY.get_sample_value("fpindex_replication_gaps_total") == gaps + 1
                assert (await cb.get("/main/_status")).json()["version"] >= version
                for id_ in (3, 33):
                    resp = await cb.post("/main/_search", json={"query": doc_terms(id_)})
                    assert resp.json() == {"results": [{"id": id_, "score": 120}]}
    finally:
        await nc.close()
        await delete_streams(a)
