"""A submission's whole life through real api, worker and index processes.

Submit a clip's fingerprint -> ``pending`` -> the worker imports it -> ``imported`` with a
track id -> a lookup of the same fingerprint finds that track and MBID; the same clip
re-encoded as MP3 lands on the same track; unrelated audio gets a new track.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.common.settings import Settings
from tests.api.conftest import Keys, api_settings, create_keys
from tests.conftest import REPO, SHARED, free_port
from tests.processes import ServiceProcess

CLIPS = SHARED / "testdata" / "chromaprint"
MBID = str(uuid.UUID("0e7b2a4f-4bc6-4a05-9d2e-5e1f3b7a9c10"))
OTHER_MBID = str(uuid.UUID("6a4c3b1d-2f7e-4c8a-b9d0-1e2f3a4b5c6d"))


def fpcalc(path: Path) -> tuple[int, str]:
    """Our fpcalc, as a user runs it: duration and compressed fingerprint."""
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "fpcalc", "-json", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout)
    return int(data["duration"]), str(data["fingerprint"])


@pytest.fixture
def stack(
    stack_settings: Settings, tmp_path: Path
) -> Iterator[tuple[Settings, dict[str, ServiceProcess]]]:
    settings = api_settings(stack_settings, api_port=free_port())
    procs = {
        "index": ServiceProcess("index", settings, settings.index_port, tmp_path / "index.log"),
        "worker": ServiceProcess(
            "worker", settings, settings.worker_metrics_port, tmp_path / "worker.log"
        ),
        "api": ServiceProcess("api", settings, settings.api_port, tmp_path / "api.log"),
    }
    for proc in procs.values():
        proc.start()
    yield settings, procs
    for proc in procs.values():
        proc.stop()


async def call(http: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await http.post(path, data=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "ok", body
    return body


async def submit_and_wait(
    http: httpx.AsyncClient, keys: Keys, duration: int, fingerprint: str, mbid: str
) -> str:
    """Submits, checks it is pending, waits until imported; the AcoustID it landed on."""
    body = await call(
        http,
        "/v2/submit",
        client=keys.client,
        user=keys.user,
        duration=duration,
        fingerprint=fingerprint,
        mbid=mbid,
    )
    (submission,) = body["submissions"]
    assert submission["status"] == "pending"
    deadline = time.monotonic() + 60
    while True:
        status = await call(http, "/v2/submission_status", client=keys.client, id=submission["id"])
        (entry,) = status["submissions"]
        if entry["status"] == "imported":
            return str(entry["result"]["id"])
        assert time.monotonic() < deadline, f"not imported: {entry}"
        await asyncio.sleep(0.2)


async def test_submit_import_lookup_and_same_audio_as_mp3(
    stack: tuple[Settings, dict[str, ServiceProcess]], databases: object, tmp_path: Path
) -> None:
    settings, procs = stack
    keys = await create_keys(settings)
    flac = CLIPS / "melody_noise_22k_mono_125s.flac"
    mp3 = tmp_path / "melody.mp3"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(flac), "-b:a", "128k", str(mp3)], check=True
    )
    async with httpx.AsyncClient(base_url=procs["api"].url, timeout=10) as http:
        duration, fingerprint = fpcalc(flac)
        track = await submit_and_wait(http, keys, duration, fingerprint, MBID)

        found = await call(
            http,
            "/v2/lookup",
            client=keys.client,
            duration=duration,
            fingerprint=fingerprint,
            meta="recordingids",
        )
        best = found["results"][0]
        assert best["id"] == track and best["score"] >= 0.9
        assert best["recordings"] == [{"id": MBID}]

        mp3_duration, mp3_fingerprint = fpcalc(mp3)
        assert mp3_fingerprint != fingerprint
        assert await submit_and_wait(http, keys, mp3_duration, mp3_fingerprint, MBID) == track

        other_duration, other = fpcalc(CLIPS / "speech_22k_mono.flac")
        assert await submit_and_wait(http, keys, other_duration, other, OTHER_MBID) != track
