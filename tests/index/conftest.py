"""An index app on a private data directory, NATS prefix and ports, torn down after each test."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI

from libs.common import nats as nats_helpers
from libs.common.settings import Settings
from services.index.app import create_app
from tests.conftest import free_port, settings_for_run


def index_settings(data_dir: Path, run: str | None = None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "index_data_dir": data_dir,
        "index_port": free_port(),
        "index_legacy_port": free_port(),
        "index_checkpoint_age": 1.0,
        "index_checkpoint_postings": 5_000,
    }
    values.update(overrides)
    return settings_for_run(run or uuid.uuid4().hex[:8], **values)


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await ready(app)
        yield app


async def ready(app: FastAPI) -> None:
    """Waits until the index has loaded and its FPINDEX consumer runs."""
    state = app.state.index
    for _ in range(200):
        if state.replicator is not None:
            break
        await asyncio.sleep(0.05)
    await asyncio.wait_for(state.replicator.connected.wait(), 10)


@pytest.fixture
async def index_app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = index_settings(tmp_path / "data")
    try:
        async with running(settings) as app:
            yield app
    finally:
        await nats_helpers.delete_streams(settings)


@pytest.fixture
async def client(index_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=index_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://index") as c:
        yield c


@contextlib.asynccontextmanager
async def served(*all_settings: Settings) -> AsyncIterator[list[str]]:
    """Index apps served over real HTTP (uvicorn in this loop), once their consumers run."""
    servers = [
        uvicorn.Server(
            uvicorn.Config(create_app(s), host="127.0.0.1", port=s.index_port, log_config=None)
        )
        for s in all_settings
    ]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    try:
        for server in servers:
            while not server.started:
                await asyncio.sleep(0.05)
            await ready(server.config.app)
        yield [f"http://127.0.0.1:{s.index_port}" for s in all_settings]
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks)


MSGPACK = "application/vnd.msgpack"


def terms(seed: int, n: int = 120) -> list[int]:
    rng = np.random.default_rng(seed)
    return (rng.choice(2**28, n, replace=False).astype(np.uint32) << np.uint32(4)).tolist()


async def insert_many(client, ids) -> int:
    changes = [{"insert": {"id": i, "hashes": terms(i)}} for i in ids]
    resp = await client.post("/main/_update", json={"changes": changes})
    assert resp.status_code == 200, resp.text
    return resp.json()["version"]


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
        await nats_helpers.delete_streams(shards[0])


async def fill(urls: list[str]) -> None:
    """Ids 1..20 (split over both shards) and 21, which shares half its terms with 4."""
    changes = [{"insert": {"id": i, "hashes": terms(i)}} for i in range(1, 21)]
    changes.append({"insert": {"id": 21, "hashes": terms(4)[:60] + terms(99)[:60]}})
    async with httpx.AsyncClient() as http:
        resp = await http.post(f"{urls[0]}/main/_update", json={"changes": changes})
        assert resp.status_code == 200
        # shard 1 applies its half (the odd ids 1..21) from the stream; wait until it has
        for _ in range(200):
            if (await http.get(f"{urls[1]}/main")).json()["stats"]["num_docs"] == 11:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("shard 1 did not apply its documents")
