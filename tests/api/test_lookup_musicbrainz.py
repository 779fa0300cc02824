"""Lookup metadata from the imported sample dump, byte for byte, for every ``meta``.

One batch lookup by AcoustID covers three tracks: ``full`` links the demo melody (on three
releases, four tracks) and "Northern Lights" (ISRCs, a single and a compilation); ``mixed``
links the standalone spoken recording, the merged demo MBID and the recording it was merged
into (one element, sources added); ``unknown`` links an MBID MusicBrainz does not know and
carries user tags. Golden files in ``golden/`` were reviewed by hand against
acoustid-server.md §1.4; ``UPDATE_GOLDEN=1`` rewrites them after a deliberate change.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Meta, Track, TrackMBID, TrackMeta
from libs.common.musicbrainz import lookup as mb
from libs.common.musicbrainz.sample import DEMO_MBIDS, gid
from libs.common.settings import Settings
from tests.api.conftest import Keys

GOLDEN = Path(__file__).with_name("golden")
UNKNOWN = "0ddba11e-0000-4000-8000-00000000dead"
LIGHTS = gid("recording", "lights")
STATIC = gid("recording", "static")
TRACK_IDS = {
    "full": "a0000000-0000-4000-8000-000000000001",
    "mixed": "a0000000-0000-4000-8000-000000000002",
    "unknown": "a0000000-0000-4000-8000-000000000003",
}

COMBINATIONS = [
    "recordingids",
    "1",
    "recordings",
    "recordings sources",
    "recordings compress",
    "isrcs",
    "recordings isrcs sources",
    "recordingids isrcs",
    "recordings releasegroups",
    "recordings releasegroups compress",
    "recordings releasegroupids",
    "recordingids releasegroupids",
    "recordings releases",
    "recordings releases compress",
    "recordings releaseids",
    "recordings releasegroups releases",
    "recordings releasegroups releases compress",
    "recordings releasegroupids releaseids",
    "recordings releases tracks",
    "recordings releases tracks compress",
    "recordings releasegroups releases tracks",
    "recordings releasegroups releases tracks compress",
    "recordings releasegroups releases tracks compress sources",
    "recordings releaseids tracks",
    "releasegroups",
    "releasegroups compress",
    "releasegroupids",
    "releasegroups releases",
    "releasegroups releases tracks compress",
    "releases",
    "releases compress",
    "releaseids",
    "releases tracks",
    "2",
    "recordings usermeta",
    "recordings releases usermeta",
]


def golden_name(meta: str) -> str:
    return "meta_" + ("_".join(meta.split()) if meta not in ("1", "2") else f"value{meta}")


@pytest.fixture(scope="module")
async def tracks(settings_api: Settings, musicbrainz: Settings) -> AsyncIterator[None]:
    links = {
        "full": [(DEMO_MBIDS["melody"], 5), (LIGHTS, 2)],
        "mixed": [(DEMO_MBIDS["speech"], 4), (DEMO_MBIDS["noise"], 1), (STATIC, 2)],
        "unknown": [(UNKNOWN, 1)],
    }
    databases = Databases(settings_api)
    async with databases.session(Database.FINGERPRINT) as session:
        for name, gid_ in TRACK_IDS.items():
            track = Track(gid=uuid.UUID(gid_))
            session.add(track)
            await session.flush()
            session.add_all(
                TrackMBID(track_id=track.id, mbid=uuid.UUID(m), submission_count=c)
                for m, c in links[name]
            )
            if name == "unknown":
                meta = Meta(track="Tagged title", artist="Tagged artist", album="Tagged album")
                session.add(meta)
                await session.flush()
                session.add(TrackMeta(track_id=track.id, meta_id=meta.id, submission_count=1))
        await session.commit()
    await databases.dispose()
    yield


async def batch(client: httpx.AsyncClient, keys: Keys, meta: str, fmt: str) -> httpx.Response:
    params = {"client": keys.client, "batch": "1", "meta": meta, "format": fmt}
    params |= {f"trackid.{i}": t for i, t in enumerate(TRACK_IDS.values())}
    return await client.post("/v2/lookup", data=params)


def check_golden(name: str, body: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(body)
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 and review it"
    assert body == path.read_bytes(), f"differs from {path}"


@pytest.mark.parametrize("meta", COMBINATIONS)
@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_golden(
    client: httpx.AsyncClient, keys: Keys, tracks: None, meta: str, fmt: str
) -> None:
    response = await batch(client, keys, meta, fmt)
    assert response.status_code == 200
    check_golden(f"{golden_name(meta)}.{fmt}", response.content)


async def test_jsonp_wraps_the_same_json(
    client: httpx.AsyncClient, keys: Keys, tracks: None
) -> None:
    meta = "recordings releasegroups compress"
    plain = await batch(client, keys, meta, "json")
    params = {"client": keys.client, "meta": meta, "format": "jsonp", "jsoncallback": "cb"}
    wrapped = await client.post(
        "/v2/lookup",
        data={**params, "batch": "1"}
        | {f"trackid.{i}": t for i, t in enumerate(TRACK_IDS.values())},
    )
    assert wrapped.headers["content-type"] == "application/javascript; charset=UTF-8"
    assert wrapped.content == b"cb(" + plain.content + b")"


async def test_documented_example_shape(
    client: httpx.AsyncClient, keys: Keys, tracks: None
) -> None:
    """acoustid.org's documented ``meta=recordings+releasegroups+compress`` answer: duration,
    title, artists and release groups with their type, and no repeated artists."""
    params = {"client": keys.client, "trackid": TRACK_IDS["mixed"]}
    response = await client.post(
        "/v2/lookup", data={**params, "meta": "recordings releasegroups compress"}
    )
    results = response.json()["results"]
    assert [r["id"] for r in results[0]["recordings"]] == [DEMO_MBIDS["speech"], STATIC]
    static = results[0]["recordings"][1]
    assert static == {
        "id": STATIC,
        "title": "Melody Under Static",
        "duration": 125.0,
        "artists": [{"id": gid("artist", "Static Orchard"), "name": "Static Orchard"}],
        "releasegroups": [
            {"id": gid("release_group", "static"), "title": "Static Orchard EP", "type": "EP"}
        ],
    }
    assert results[0]["recordings"][0] == {"id": DEMO_MBIDS["speech"]}  # standalone


async def test_batch_reads_musicbrainz_in_two_statements(
    api: Any, keys: Keys, tracks: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two statements for one track or a batch of three: never one per recording."""
    app, client = api
    databases = app.state.resources.databases
    calls: list[Database] = []
    original = databases.fetch

    async def counting(db: Database, *args: Any, **kwargs: Any) -> Any:
        calls.append(db)
        return await original(db, *args, **kwargs)

    monkeypatch.setattr(databases, "fetch", counting)
    meta = "recordings releasegroups releases tracks compress sources isrcs"
    await client.post(
        "/v2/lookup", data={"client": keys.client, "meta": meta, "trackid": TRACK_IDS["full"]}
    )
    single = calls.count(Database.MUSICBRAINZ)
    calls.clear()
    await batch(client, keys, meta, "json")
    assert single == calls.count(Database.MUSICBRAINZ) == 2


async def test_recording_names_for_pages(settings_api: Settings, musicbrainz: Settings) -> None:
    databases = Databases(settings_api)
    try:
        names = await mb.recording_names(
            databases, [DEMO_MBIDS["melody"], DEMO_MBIDS["noise"], UNKNOWN, "not-a-uuid"]
        )
    finally:
        await databases.dispose()
    assert names == {
        DEMO_MBIDS["melody"]: mb.RecordingName(
            DEMO_MBIDS["melody"], "Melody for Two Hands", "Aurora Vale & The Tidewater"
        ),
        DEMO_MBIDS["noise"]: mb.RecordingName(STATIC, "Melody Under Static", "Static Orchard"),
    }


async def test_usermeta_when_the_response_has_no_musicbrainz_data(
    client: httpx.AsyncClient, keys: Keys, tracks: None
) -> None:
    """Alone, the unknown MBID's track shows its submitted tags; in the batch above, where
    other tracks have MusicBrainz data, it does not (acoustid.org decides per response)."""
    params = {"client": keys.client, "trackid": TRACK_IDS["unknown"], "meta": "recordings usermeta"}
    response = await client.post("/v2/lookup", data=params)
    assert response.json()["results"][0]["recordings"] == [
        {"id": UNKNOWN},
        {"title": "Tagged title", "artists": ["Tagged artist"]},
    ]
