"""Real clients against the API over HTTP: the ``pyacoustid`` library from PyPI (what beets
uses), and Picard's and beets' request shapes as ``clients.md`` captured them."""

from __future__ import annotations

import asyncio
import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import acoustid
import httpx
import numpy as np
import pytest

from libs.chromaprint_cy.codec import decode_fingerprint
from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from services.cli.devstack import DEMO_TRACKS
from tests.api.conftest import Keys
from tests.api.world import MBID_A, MBID_B, World, fp, index_fingerprints, items
from tests.conftest import SHARED

SUBMIT_MBID = "cd2e7c47-16f5-46c6-a37c-a1eb7bf599ff"


@pytest.fixture
def base_url(world: World) -> Iterator[str]:
    previous = acoustid.API_BASE_URL
    acoustid.set_base_url(world.url + "/v2")
    yield world.url
    acoustid.API_BASE_URL = previous


async def test_pyacoustid_lookup_and_parse(world: World, keys: Keys, base_url: str) -> None:
    fingerprint = fp(world.prints["a"])
    data = await asyncio.to_thread(acoustid.lookup, keys.client, fingerprint, 200.7)
    assert data == {
        "status": "ok",
        "results": [
            {
                "id": world.tracks["a"][1],
                "score": 1.0,
                "recordings": [{"id": MBID_A}, {"id": MBID_B}],
            }
        ],
    }
    parsed = list(acoustid.parse_lookup_result(data))
    assert parsed == [(1.0, MBID_A, None, None), (1.0, MBID_B, None, None)]
    beets = await asyncio.to_thread(
        acoustid.lookup, keys.client, fingerprint, 200, "recordings releases", 10
    )
    assert beets["results"][0]["recordings"] == [{"id": MBID_A}, {"id": MBID_B}]
    error = await asyncio.to_thread(acoustid.lookup, "bad-key", fingerprint, 200)
    assert error == {"status": "error", "error": {"code": 4, "message": "invalid API key"}}


async def test_pyacoustid_submit_and_status(world: World, keys: Keys, base_url: str) -> None:
    batch: list[dict[str, Any]] = [
        {
            "fingerprint": fp(items(501)),
            "duration": 201.9,
            "mbid": SUBMIT_MBID,
            "bitrate": 192,
            "fileformat": "FLAC",
        },
        {
            "fingerprint": fp(items(502)),
            "duration": 180,
            "track": "Título",
            "artist": "A & B",
            "album": "X",
            "albumartist": "Y",
            "year": 0,
            "trackno": 3,
            "discno": None,
        },
    ]
    answer = await asyncio.to_thread(acoustid.submit, keys.client, keys.user, batch)
    submissions = answer["submissions"]
    assert [(s["index"], s["status"]) for s in submissions] == [("0", "pending"), ("1", "pending")]
    status = await asyncio.to_thread(
        acoustid.get_submission_status, keys.client, submissions[0]["id"]
    )
    assert status == {
        "status": "ok",
        "submissions": [{"id": submissions[0]["id"], "status": "pending"}],
    }
    with pytest.raises(acoustid.WebServiceError, match="error 6: invalid user API key"):
        await asyncio.to_thread(acoustid.submit, keys.client, "nope", batch[:1])


def picard_body(args: dict[str, str]) -> str:
    """Picard percent-encodes by hand (spaces as %20) and appends client, version, format."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in args.items())


async def test_picard_lookup_shape(world: World, keys: Keys) -> None:
    body = picard_body(
        {
            "meta": "recordings releasegroups releases tracks compress sources",
            "fingerprint": fp(world.prints["a"]),
            "duration": "200",
            "client": keys.client,
            "clientversion": "3.0.0",
            "format": "json",
        }
    )
    async with httpx.AsyncClient(base_url=world.url) as http:
        response = await http.post(
            "/v2/lookup",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
                "User-Agent": "MusicBrainz-Picard/3.0.0 (Linux;CPython-3.12)",
            },
        )
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["score"] == 1.0
    assert result["recordings"] == [{"id": MBID_A, "sources": 5}, {"id": MBID_B, "sources": 3}]


async def test_picard_submit_shape_and_413_on_oversized_batches(world: World, keys: Keys) -> None:
    args = {"user": keys.user}
    for i in range(2):
        args.update(
            {
                f"fingerprint.{i}": fp(items(600 + i)),
                f"duration.{i}": "200",
                f"mbid.{i}": SUBMIT_MBID,
            }
        )
    args.update({"client": keys.client, "clientversion": "3.0.0", "format": "json"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(base_url=world.url) as http:
        ok = await http.post("/v2/submit", content=picard_body(args), headers=headers)
        assert [s["index"] for s in ok.json()["submissions"]] == ["0", "1"]
        big = picard_body({**args, "padding": "x" * (1 << 20)})
        too_large = await http.post("/v2/submit", content=big, headers=headers)
    assert too_large.status_code == 413
    assert too_large.json()["error"] == {"code": 19, "message": "request too large"}


async def test_gzip_lookup_over_http_like_acoustid_net(world: World, keys: Keys) -> None:
    body = f"client={keys.client}&format=xml&duration=300&meta=recordingids&fingerprint="
    body += fp(world.prints["c"])
    async with httpx.AsyncClient(base_url=world.url) as http:
        response = await http.post(
            "/v2/lookup",
            content=gzip.compress(body.encode()),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Content-Encoding": "gzip",
            },
        )
    assert response.status_code == 200
    assert response.text == (
        "<?xml version='1.0' encoding='UTF-8'?>\n<response><results><result>"
        f"<id>{world.tracks['c'][1]}</id><score>1.0</score></result></results>"
        "<status>ok</status></response>"
    )


async def test_pyacoustid_match_names_a_demo_track(
    world: World, keys: Keys, base_url: str, musicbrainz: object
) -> None:
    """The demo melody, fingerprinted from its audio by pyacoustid itself (libchromaprint),
    matches the demo track and comes back with its title and artist credit."""
    demo = json.loads(DEMO_TRACKS.read_text())["tracks"][0]
    items, _ = decode_fingerprint(demo["fingerprint"])
    databases = Databases(world.settings)
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            track = Track(gid=uuid.uuid4())
            session.add(track)
            await session.flush()
            stored = Fingerprint(
                fingerprint=items.view(np.int32).tolist(),
                length=demo["duration"],
                track_id=track.id,
                submission_count=1,
            )
            session.add(stored)
            session.add(
                TrackMBID(track_id=track.id, mbid=uuid.UUID(demo["mbid"]), submission_count=1)
            )
            await session.commit()
            fingerprint_id, gid = stored.id, str(track.gid)
    finally:
        await databases.dispose()
    await index_fingerprints(world.index_url, {fingerprint_id: items})
    audio = SHARED / "testdata" / "chromaprint" / f"{demo['name']}.flac"
    matches = await asyncio.to_thread(lambda: list(acoustid.match(keys.client, str(audio))))
    assert [(title, artist) for _, _, title, artist in matches] == [
        ("Melody for Two Hands", "Aurora Vale & The Tidewater")
    ]
    score, recording, _, _ = matches[0]
    assert recording == demo["mbid"] and score > 0.9
    data = await asyncio.to_thread(
        acoustid.match, keys.client, str(audio), "recordings releasegroups compress", False
    )
    assert data["results"][0]["id"] == gid
