"""A small catalogue behind a real index process and the API, in process and over HTTP.

Three tracks with random 600-item fingerprints: ``a`` has two enabled MBIDs and a disabled
one, ``b`` has user-submitted tags, ``c`` is 300 s long; ``merged`` redirects to ``a``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import uvicorn

from libs.chromaprint_cy.codec import encode_fingerprint
from libs.chromaprint_cy.query import extract_query
from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Fingerprint, Meta, Track, TrackMBID, TrackMeta
from libs.common.nats import delete_streams
from libs.common.settings import Settings
from tests.api.conftest import api_settings, running
from tests.conftest import free_port
from tests.index.conftest import index_settings, served

MBID_A = "0b2a5a0e-0000-4000-8000-000000000001"
MBID_B = "0b2a5a0e-0000-4000-8000-000000000002"
MBID_OFF = "0b2a5a0e-0000-4000-8000-000000000003"


def fp(values: np.ndarray) -> str:
    return encode_fingerprint(values)


def items(seed: int, size: int = 600) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**32, size, dtype=np.uint32)


def noisy(base: np.ndarray, seed: int, bits: int) -> np.ndarray:
    """The same audio re-encoded: a few bits flipped per item."""
    rng = np.random.default_rng(seed)
    flips = np.zeros(len(base), dtype=np.uint32)
    for _ in range(bits):
        flips |= np.uint32(1) << rng.integers(0, 32, len(base)).astype(np.uint32)
    return base ^ flips


@dataclass
class World:
    client: httpx.AsyncClient
    url: str
    settings: Settings
    index_url: str
    tracks: dict[str, tuple[int, str]]
    prints: dict[str, np.ndarray]


async def _store(settings: Settings, index_url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    prints = {"a": items(10), "b": items(20), "c": items(30)}
    databases = Databases(settings)
    tracks: dict[str, tuple[int, str]] = {}
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            merged = Track(gid=uuid.uuid4())
            for name, fp in prints.items():
                track = Track(gid=uuid.uuid4())
                session.add(track)
                await session.flush()
                session.add(
                    Fingerprint(
                        fingerprint=fp.view(np.int32).tolist(),
                        length=200 if name != "c" else 300,
                        track_id=track.id,
                        submission_count=1,
                    )
                )
                tracks[name] = (track.id, str(track.gid))
            merged.new_id = tracks["a"][0]
            session.add(merged)
            track_a = tracks["a"][0]
            session.add_all(
                [
                    TrackMBID(track_id=track_a, mbid=uuid.UUID(MBID_B), submission_count=3),
                    TrackMBID(track_id=track_a, mbid=uuid.UUID(MBID_A), submission_count=5),
                    TrackMBID(
                        track_id=track_a,
                        mbid=uuid.UUID(MBID_OFF),
                        submission_count=9,
                        disabled=True,
                    ),
                ]
            )
            meta = Meta(track="User title", artist="User artist", album="User album", year=1999)
            session.add(meta)
            await session.flush()
            session.add(TrackMeta(track_id=tracks["b"][0], meta_id=meta.id, submission_count=2))
            await session.commit()
            tracks["merged"] = (merged.id, str(merged.gid))
        async with databases.session(Database.FINGERPRINT) as session:
            ids = {
                name: (
                    await session.execute(
                        Fingerprint.__table__.select().where(
                            Fingerprint.track_id == tracks[name][0]
                        )
                    )
                ).first()[0]
                for name in prints
            }
    finally:
        await databases.dispose()
    await index_fingerprints(index_url, {ids[name]: fp for name, fp in prints.items()})
    return tracks, prints


async def index_fingerprints(index_url: str, prints: dict[int, np.ndarray]) -> None:
    """Adds stored fingerprints (id -> items) to the index and waits until it counts them."""
    changes = [
        {"insert": {"id": fp_id, "hashes": extract_query(fp).tolist()}}
        for fp_id, fp in prints.items()
    ]
    async with httpx.AsyncClient() as http:
        before = (await http.get(f"{index_url}/main")).json()["stats"]["num_docs"]
        response = await http.post(f"{index_url}/main/_update", json={"changes": changes})
        assert response.status_code == 200, response.text
        for _ in range(100):
            status = (await http.get(f"{index_url}/main")).json()
            if status["stats"]["num_docs"] >= before + len(changes):
                break
            await asyncio.sleep(0.05)


@asynccontextmanager
async def world(base: Settings, data_dir: Path) -> AsyncIterator[World]:
    index = index_settings(data_dir)
    try:
        async with served(index) as [index_url]:
            settings = api_settings(base, index_urls=[index_url])
            tracks, prints = await _store(settings, index_url)
            async with running(settings) as (app, client):
                port = free_port()
                config = uvicorn.Config(
                    app, host="127.0.0.1", port=port, lifespan="off", log_config=None
                )
                server = uvicorn.Server(config)
                task = asyncio.create_task(server.serve())
                try:
                    while not server.started:
                        await asyncio.sleep(0.02)
                    url = f"http://127.0.0.1:{port}"
                    yield World(client, url, settings, index_url, tracks, prints)
                finally:
                    server.should_exit = True
                    await task
    finally:
        await delete_streams(index)
