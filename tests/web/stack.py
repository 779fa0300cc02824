"""The website with everything behind it as real processes: index, worker, api and web.

Identify-by-upload asks the API over HTTP and the browser tests need a real server, so
these tests run the services the way ``make dev`` does, on free ports with this run's
databases and a NATS prefix of their own. Two tracks are submitted through the API and
imported by the worker before any test runs; their titles carry markup, to prove that
what users submit is shown as text.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.chromaprint_cy.audio import fingerprint_file
from libs.chromaprint_cy.codec import encode_fingerprint
from libs.common.nats import delete_streams
from libs.common.settings import Settings
from tests.api.conftest import Keys, api_settings, create_keys
from tests.conftest import SHARED, free_port
from tests.processes import ServiceProcess
from tests.web.site import WebClient

CLIPS = SHARED / "testdata" / "chromaprint"
MELODY = CLIPS / "melody_48k_stereo.flac"
SPEECH = CLIPS / "speech_22k_mono.flac"
MELODY_MBID = "0b8f2a4e-6c1d-4e3a-9f5b-7d2c1e0a9b31"
SPEECH_MBID = "5c1e7d3a-2b4f-4a6e-8d9c-0f1e2d3c4b5a"
#: Seconds each process gets to answer /_health; the machine may be busy with other builds.
START_TIMEOUT = 120.0
XSS_TITLE = '<script>alert("title")</script>'
XSS_ARTIST = '<img src=x onerror=alert("artist")>'


@dataclass(frozen=True)
class Seeded:
    track: str
    """AcoustID of the melody clip, linked to MELODY_MBID, with markup in its user metadata."""
    other_track: str
    """AcoustID of the speech clip, linked to SPEECH_MBID."""
    keys: Keys


@dataclass(frozen=True)
class WebStack:
    settings: Settings
    api: str
    web: str
    seeded: Seeded
    logs: Path


async def _call(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.post(path, data=params)
    body: dict[str, Any] = response.json()
    assert body["status"] == "ok", body
    return body


async def _submit(http: httpx.AsyncClient, keys: Keys, clip: Path, mbid: str, **meta: str) -> str:
    """Submits a clip's fingerprint; the AcoustID once imported and answered by lookups."""
    duration, items = fingerprint_file(str(clip))
    fingerprint = encode_fingerprint(items)
    common = {"client": keys.client, "duration": int(duration), "fingerprint": fingerprint}
    body = await _call(http, "/v2/submit", user=keys.user, mbid=mbid, **common, **meta)
    submission = body["submissions"][0]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = await _call(http, "/v2/submission_status", client=keys.client, id=submission)
        entry = status["submissions"][0]
        if entry["status"] == "imported":
            track = str(entry["result"]["id"])
            found = await _call(http, "/v2/lookup", **common)
            if any(r["id"] == track for r in found["results"]):
                return track
        await asyncio.sleep(0.2)
    raise AssertionError(f"{clip.name} was not imported and indexed in time")


async def seed(api: str, settings: Settings) -> Seeded:
    keys = await create_keys(settings)
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        track = await _submit(http, keys, MELODY, MELODY_MBID, track=XSS_TITLE, artist=XSS_ARTIST)
        other = await _submit(http, keys, SPEECH, SPEECH_MBID, track="Speech", album="Tests")
    return Seeded(track, other, keys)


@pytest.fixture(scope="session")
def web_stack_settings(
    migrated: Settings, run_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    index_port, api_port = free_port(), free_port()
    settings = api_settings(
        migrated,
        nats_prefix=f"test{run_id}web{uuid.uuid4().hex[:4]}.",
        redis_prefix=f"test:{run_id}:web:",
        index_port=index_port,
        index_legacy_port=free_port(),
        index_urls=[f"http://127.0.0.1:{index_port}"],
        index_data_dir=tmp_path_factory.mktemp("web-index"),
        worker_metrics_port=free_port(),
        api_port=api_port,
        web_port=free_port(),
        website_api_url=f"http://127.0.0.1:{api_port}",
        website_secret="web-test-secret",
        website_max_upload=5_000_000,
    )
    yield settings
    asyncio.run(delete_streams(settings))


@pytest.fixture
async def browse_site(web_stack: WebStack) -> AsyncIterator[WebClient]:
    """A visitor of an in-process website that looks up through the stack's API."""
    from tests.web.conftest import open_site  # the conftest imports this module

    async with open_site(web_stack.settings) as (_app, client):
        yield client


@pytest.fixture(scope="session")
async def web_stack(
    web_stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[WebStack]:
    settings = web_stack_settings
    logs = tmp_path_factory.mktemp("web-stack-logs")
    procs = [
        ServiceProcess("index", settings, settings.index_port, logs / "index.log"),
        ServiceProcess("worker", settings, settings.worker_metrics_port, logs / "worker.log"),
        ServiceProcess("api", settings, settings.api_port, logs / "api.log"),
        ServiceProcess("web", settings, settings.web_port, logs / "web.log"),
    ]
    try:
        await asyncio.to_thread(procs[0].start, START_TIMEOUT)
        await asyncio.gather(*(asyncio.to_thread(p.start, START_TIMEOUT) for p in procs[1:]))
        seeded = await seed(procs[2].url, settings)
        yield WebStack(settings, procs[2].url, procs[3].url, seeded, logs)
    finally:
        for proc in procs:
            proc.stop()
