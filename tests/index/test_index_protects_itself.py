"""The index protects itself: hostile bodies and ids get named 400s, a chunked upload stops at
the limit, one huge _msearch is refused or cannot starve small searches, and writes can be
reserved to holders of the index secret (over HTTP and the line protocol)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from libs.common import nats as nats_helpers
from services.index import api
from tests.index.conftest import index_settings, running

MSGPACK = {"content-type": "application/msgpack"}


def _error(response: httpx.Response) -> tuple[int, object]:
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"query": [1, 2], "min_score": 1000000000000000000000000000000}', {}),
        (b'{"query": [1, 2], "limit": -100000000000000000000000000000}', {}),
        (b"[" * 100_000 + b"]" * 100_000, {}),
        (b"\x81\x91\x01\x01", MSGPACK),  # a map whose key is a list
        (b"\x81\x81\x01\x01\x01", MSGPACK),  # a map whose key is a map
        (b"\x91" * 100_000, MSGPACK),
    ],
)
async def test_hostile_search_bodies_are_named_400s(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
) -> None:
    kind = headers or {"content-type": "application/json"}
    response = await client.post("/main/_search", content=body, headers=kind)
    assert (response.status_code, response.headers["content-type"]) == (400, "application/json")
    assert response.json() == {"error": "BadRequest"}


async def test_a_document_id_of_thousands_of_digits_is_invalid(client: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, "/main/" + "9" * 5000, json={"hashes": [1]})
        assert _error(response) == (400, {"error": "InvalidFingerprintId"})


async def test_a_chunked_upload_is_cut_off_at_the_limit(client: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"changes": ['
        while sent < 8 * api.MAX_BODY:
            sent += 1 << 20
            yield b" " * (1 << 20)
        yield b"]}"

    response = await client.post(
        "/main/_update", content=chunks(), headers={"content-type": "application/json"}
    )
    assert _error(response) == (413, {"error": "RequestTooLarge"})
    assert sent < 2 * api.MAX_BODY  # stopped reading soon after the limit, not at the end


async def test_msearch_bounds_the_total_work_of_one_request(client: httpx.AsyncClient) -> None:
    rng = np.random.default_rng(1)
    big = [{"query": rng.integers(1, 2**28, 4096).tolist()} for _ in range(40)]
    response = await client.post("/main/_msearch", json={"queries": big})
    assert _error(response) == (400, {"error": "BadRequest"})
    fits = [{"query": rng.integers(1, 2**28, 120).tolist()} for _ in range(1000)]
    response = await client.post("/main/_msearch", json={"queries": fits})
    assert response.status_code == 200
    assert len(response.json()["responses"]) == 1000


def test_a_big_msearch_runs_in_chunks_of_bounded_terms() -> None:
    queries = [
        api.Query(np.arange(n, dtype=np.uint32), 10, 1, 10) for n in (4096, 1, 2000, 2000, 97)
    ]
    chunks = api._chunks(queries)
    assert [[len(q.terms) for q in c] for c in chunks] == [[4096], [1, 2000, 2000], [97]]
    assert all(sum(len(q.terms) for q in c) <= api.SEARCH_CHUNK_TERMS for c in chunks)


class SlowStore:
    """Stands in for the segments only to make each search take a known time, so the test
    is about the search threads' queue, not the kernel's speed."""

    def __init__(self) -> None:
        self.started = threading.Event()

    def search(self, terms: np.ndarray, **_: object) -> tuple[list[tuple[int, int]], int]:
        self.started.set()
        time.sleep(0.002)
        return [(len(terms), 1)], len(terms)


async def test_small_searches_are_not_queued_behind_a_big_msearch() -> None:
    store = SlowStore()
    big = [api.Query(np.zeros(api.SEARCH_CHUNK_TERMS, np.uint32), 10, 1, 10)] * 150
    small = [api.Query(np.zeros(5, np.uint32), 10, 1, 10)]
    finished: list[str] = []

    async def run(name: str, queries: list[api.Query]) -> None:
        await api.run_searches(store, queries, 0)  # type: ignore[arg-type]
        finished.append(name)

    threads = api.SEARCH_POOL._max_workers
    bigs = [asyncio.create_task(run(f"big{n}", big)) for n in range(threads)]
    while not store.started.is_set():  # every search thread is now busy with a big request
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.01)
    await run("small", small)
    await asyncio.gather(*bigs)
    assert finished[0] == "small", finished


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = index_settings(tmp_path / "data", index_secret="s3cret")
    try:
        async with running(settings) as app:
            yield app
    finally:
        await nats_helpers.delete_streams(settings)


async def test_writes_need_the_index_secret_when_one_is_set(guarded: FastAPI) -> None:
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url="http://index") as client:
        change = {"changes": [{"insert": {"id": 7, "hashes": [1, 2, 3]}}]}
        for headers in ({}, {"X-Index-Secret": "wrong"}):
            refused = await client.post("/main/_update", json=change, headers=headers)
            assert _error(refused) == (401, {"error": "Unauthorized"})
            put = await client.put("/main/7", json={"hashes": [1]}, headers=headers)
            assert _error(put) == (401, {"error": "Unauthorized"})
            assert (await client.delete("/main/7", headers=headers)).status_code == 401
        assert (await client.get("/main")).json()["stats"]["num_docs"] == 0
        ok = await client.post("/main/_update", json=change, headers={"X-Index-Secret": "s3cret"})
        assert ok.status_code == 200
        found = await client.post("/main/_search", json={"query": [1, 2, 3]})
        assert found.json() == {"results": [{"id": 7, "score": 3}]}


async def test_the_line_protocol_refuses_writes_when_a_secret_is_set(guarded: FastAPI) -> None:
    from services.index.legacy import CommandError, Protocol, Session

    protocol = Protocol(guarded.state.index)
    with pytest.raises(CommandError, match="writes need the HTTP API and the index secret"):
        await protocol.handle(Session(), "begin")
