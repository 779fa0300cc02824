"""Scatter-gather over real index shards: merged order, and a dead shard reported, not hidden."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import numpy as np
import pytest
from prometheus_client import REGISTRY

from libs.common.index_client import IndexClient, IndexUnavailable
from libs.common.nats import delete_streams
from tests.conftest import closed_port_url, free_port
from tests.index.conftest import index_settings, served


def terms(seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return (rng.choice(2**28, 120, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


@contextlib.asynccontextmanager
async def two_shards(tmp_path):
    run = uuid.uuid4().hex[:8]
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    shards = [
        index_settings(
            tmp_path / f"shard{i}", run=run, index_urls=urls, index_shard=i, index_port=ports[i]
        )
        for i in range(2)
    ]
    try:
        async with served(*shards):
            yield urls
    finally:
        await delete_streams(shards[0])


async def fill(urls: list[str]) -> None:
    """Ids 1..20 (split over both shards) and 21, which shares half its terms with 4."""
    changes = [{"insert": {"id": i, "hashes": terms(i)}} for i in range(1, 21)]
    changes.append({"insert": {"id": 21, "hashes": terms(4)[:60] + terms(99)[:60]}})
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{urls[0]}/main/_update", json={"changes": changes})
        assert resp.status_code == 200
        # shard 1 applies its half from the stream; wait until it has
        for _ in range(100):
            if (await http.get(f"{urls[1]}/main")).json()["stats"]["num_docs"] == 10:
                break
            await asyncio.sleep(0.05)


async def test_scatter_gather_merges_shards(tmp_path):
    async with two_shards(tmp_path) as urls:
        await fill(urls)
        async with IndexClient(urls, timeout=2.0) as client:
            result = await client.search(terms(4), limit=5)
            assert result.complete
            assert [(m.id, m.score) for m in result.matches] == [(4, 120), (21, 60)]
            result = await client.search(terms(7), limit=5)
            assert [(m.id, m.score) for m in result.matches] == [(7, 120)]


async def test_failed_shard_is_reported_and_counted(tmp_path):
    async with (
        two_shards(tmp_path) as urls,
        IndexClient([urls[0], closed_port_url("http")], timeout=1.0) as client,
    ):
        before = REGISTRY.get_sample_value("index_shard_failures_total", {"shard": "1"}) or 0
        result = await client.search(terms(1))
        assert result.failed_shards == [1] and not result.complete
        after = REGISTRY.get_sample_value("index_shard_failures_total", {"shard": "1"})
        assert after == before + 1
    async with IndexClient([closed_port_url("http")], timeout=0.5) as client:
        with pytest.raises(IndexUnavailable):
            await client.search(terms(1))
