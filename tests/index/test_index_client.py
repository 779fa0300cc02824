"""Scatter-gather over real index shards: merged order, and a dead shard reported, not hidden."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from libs.common.index_client import IndexClient, IndexUnavailable
from tests.conftest import closed_port_url
from tests.index.conftest import fill, terms, two_shards


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
