"""``IndexClient.search_many``: one ``_msearch`` per shard, merged per query like ``search``."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from libs.common.index_client import IndexClient, IndexUnavailable
from tests.conftest import closed_port_url
from tests.index.conftest import fill, terms, two_shards


async def test_search_many_answers_like_search_for_each_query(tmp_path):
    async with two_shards(tmp_path) as urls:
        await fill(urls)
        queries = [terms(4), terms(7), terms(12345), terms(8)[:30]]
        async with IndexClient(urls, timeout=2.0) as client:
            many = await client.search_many(queries, limit=5)
            singles = [await client.search(q, limit=5) for q in queries]
            assert many == singles
            assert [[(m.id, m.score) for m in r.matches] for r in many] == [
                [(4, 120), (21, 60)],
                [(7, 120)],
                [],
                [(8, 30)],
            ]
            assert all(r.complete for r in many)
            assert await client.search_many([]) == []


async def test_search_many_reports_a_failed_shard_in_every_answer(tmp_path):
    async with two_shards(tmp_path) as urls:
        await fill(urls)
        async with IndexClient([urls[0], closed_port_url("http")], timeout=1.0) as client:
            before = REGISTRY.get_sample_value("index_shard_failures_total", {"shard": "1"}) or 0
            results = await client.search_many([terms(4), terms(7)], limit=5)
            assert [r.failed_shards for r in results] == [[1], [1]]
            # shard 0 holds the even ids: 4 is found, 21 and 7 live on the dead shard
            assert [[m.id for m in r.matches] for r in results] == [[4], []]
            after = REGISTRY.get_sample_value("index_shard_failures_total", {"shard": "1"})
            assert after == before + 1
    async with IndexClient([closed_port_url("http")], timeout=0.5) as client:
        with pytest.raises(IndexUnavailable):
            await client.search_many([terms(1)])
