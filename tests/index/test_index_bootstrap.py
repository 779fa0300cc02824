"""A new replica copies a peer's snapshot, then follows the stream from the snapshot's version."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import numpy as np

from libs.common.nats import delete_streams
from services.index.app import create_app
from tests.index.conftest import index_settings, served


def terms(seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return (rng.choice(2**28, 120, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


async def test_new_replica_bootstraps_from_snapshot_then_stream(tmp_path):
    run = uuid.uuid4().hex[:8]
    first = index_settings(tmp_path / "a", run=run, index_checkpoint_age=0.2)
    try:
        async with served(first) as (url_a,), httpx.AsyncClient(base_url=url_a) as a:
            changes = [{"insert": {"id": i, "hashes": terms(i)}} for i in range(1, 200)]
            assert (await a.post("/main/_update", json={"changes": changes})).status_code == 200
            for _ in range(100):
                status = (await a.get("/main/_status")).json()
                if status["file_version"] == status["version"]:
                    break
                await asyncio.sleep(0.05)
            snapshot_version = status["file_version"]
            assert snapshot_version > 0
            second = index_settings(tmp_path / "b", run=run, index_peers=[url_a])
            async with served(second) as (url_b,), httpx.AsyncClient(base_url=url_b) as b:
                assert sorted(p.name for p in (tmp_path / "b").glob("*.seg")) == sorted(
                    p.name for p in (tmp_path / "a").glob("*.seg")
                )
                resp = await a.post(
                    "/main/_update",
                    json={"changes": [{"insert": {"id": 500, "hashes": terms(500)}}]},
                )
                version = resp.json()["version"]
                for _ in range(100):
                    if (await b.get("/main/_status")).json()["version"] >= version:
                        break
                    await asyncio.sleep(0.05)
                for id_ in (5, 199, 500):
                    resp = await b.post("/main/_search", json={"query": terms(id_)})
                    assert resp.json() == {"results": [{"id": id_, "score": 120}]}
    finally:
        await delete_streams(first)


async def test_index_answers_loading_while_a_peer_is_slow(tmp_path):
    async def silent(reader, writer):
        await reader.read()

    peer = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = peer.sockets[0].getsockname()[1]
    settings = index_settings(tmp_path / "c", index_peers=[f"http://127.0.0.1:{port}"])
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://index") as c:
                health = await c.get("/main/_health")
                assert (health.status_code, health.text) == (503, "LOADING")
                assert (await c.get("/_health_docker")).status_code == 200
                resp = await c.post("/main/_search", json={"query": [1]})
                assert resp.json() == {"error": "IndexNotReady"}
    finally:
        peer.close()
        await delete_streams(settings)
