"""``/v2/submit``, ``/v2/submission_status`` and legacy ``/submit``: rows stored, messages
queued, exact answers; every bad request refused with its code and nothing written."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Fingerprint, Track
from libs.common.models.ingest import FingerprintSource, Submission
from libs.common.settings import Settings
from tests.api.conftest import Keys, create_keys, make_fingerprint, stream_messages

FP = make_fingerprint(1)
FP2 = make_fingerprint(2)
MBID1 = "cd2e7c47-16f5-46c6-a37c-a1eb7bf599ff"
MBID2 = "b81f83ee-4da4-11e0-9ed8-0025225356f3"
FORM = {"content-type": "application/x-www-form-urlencoded"}


async def rows(settings: Settings, ids: list[int]) -> list[Submission]:
    databases = Databases(settings)
    try:
        async with databases.session(Database.INGEST) as session:
            found = await session.scalars(
                select(Submission).where(Submission.id.in_(ids)).order_by(Submission.id)
            )
            return list(found)
    finally:
        await databases.dispose()


async def counts(settings: Settings) -> tuple[int, int]:
    databases = Databases(settings)
    try:
        async with databases.session(Database.INGEST) as session:
            stored = await session.scalar(select(func.count()).select_from(Submission))
    finally:
        await databases.dispose()
    return int(stored or 0), len(await stream_messages(settings))


async def test_single_submission_is_stored_and_queued(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    response = await client.post(
        "/v2/submit",
        data={
            "client": keys.client,
            "clientversion": "1.2",
            "user": keys.user,
            "fingerprint": FP,
            "duration": "201",
            "mbid": MBID1,
            "bitrate": "192",
            "fileformat": "FLAC",
            "foreignid": "spotify:abc",
        },
    )
    assert response.status_code == 200
    body = response.json()
    [item] = body["submissions"]
    assert body == {"status": "ok", "submissions": [{"id": item["id"], "status": "pending"}]}
    [row] = await rows(settings_api, [item["id"]])
    assert (row.length, row.bitrate, row.format, row.mbid) == (201, 192, "FLAC", uuid.UUID(MBID1))
    assert (row.foreignid, row.meta, row.puid) == ("spotify:abc", None, None)
    assert (row.account_id, row.application_id) == (keys.account_id, keys.application_id)
    assert row.application_version == "1.2"
    assert row.handled is False
    assert len(row.fingerprint) == 300 and row.fingerprint[0] < 2**31
    assert (str(item["id"]).encode(), {"Nats-Msg-Id": str(item["id"])}) in await stream_messages(
        settings_api
    )


async def test_pyacoustid_batch_shape_gzipped(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    """What pyacoustid sends for two dicts: suffixed keys, year=0, a gzip body."""
    body = (
        f"format=json&client={keys.client}&user={keys.user}&fingerprint.0={FP}&duration.0=201"
        f"&mbid.0={MBID1}&bitrate.0=192&fileformat.0=FLAC&fingerprint.1={FP2}&duration.1=180"
        "&track.1=T%C3%ADtulo&artist.1=A+%26+B&album.1=X&albumartist.1=Y&year.1=0&trackno.1=3"
    )
    response = await client.post(
        "/v2/submit",
        content=gzip.compress(body.encode()),
        headers={**FORM, "content-encoding": "gzip"},
    )
    data = response.json()
    first, second = data["submissions"]
    assert data == {
        "status": "ok",
        "submissions": [
            {"id": first["id"], "status": "pending", "index": "0"},
            {"id": second["id"], "status": "pending", "index": "1"},
        ],
    }
    row0, row1 = await rows(settings_api, [first["id"], second["id"]])
    assert row0.mbid == uuid.UUID(MBID1) and row0.meta is None
    assert row1.mbid is None and row1.length == 180
    assert row1.meta == {
        "track": "Título",
        "artist": "A & B",
        "album": "X",
        "album_artist": "Y",
        "track_no": 3,
    }


async def test_one_row_per_mbid_and_bare_fingerprints_dropped(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    response = await client.post(
        "/v2/submit",
        data={
            "client": keys.client,
            "user": keys.user,
            "fingerprint.0": FP,
            "duration.0": "100",
            "mbid.0": [MBID1, MBID2],
            "fingerprint.1": FP2,
            "duration.1": "100",
            "foreignid.1": "vendor:only",
            "fingerprint.2": FP2,
            "duration.2": "100",
            "track.2": "  Some \t\x00 title  ",
            "trackno.2": "10001",
            "discno.2": "x",
        },
    )
    subs = response.json()["submissions"]
    assert [(s["index"], s["status"]) for s in subs] == [("0", "pending")] * 2 + [("2", "pending")]
    a, b, c = await rows(settings_api, [s["id"] for s in subs])
    assert {a.mbid, b.mbid} == {uuid.UUID(MBID1), uuid.UUID(MBID2)}
    assert c.meta == {"track": "Some title"}


async def test_only_bare_fingerprints_answer_an_empty_list(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    before = await counts(settings_api)
    response = await client.post(
        "/v2/submit",
        data={"client": keys.client, "user": keys.user, "fingerprint": FP, "duration": "100"},
    )
    assert response.content == b'{"status": "ok", "submissions": []}'
    assert await counts(settings_api) == before


async def test_a_bad_item_of_a_batch_is_dropped(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    response = await client.post(
        "/v2/submit",
        data={
            "client": keys.client,
            "user": keys.user,
            "fingerprint.0": FP,
            "duration.0": "100",
            "mbid.0": "not-a-uuid",
            "fingerprint.1": FP,
            "duration.1": "100",
            "mbid.1": MBID2,
        },
    )
    [item] = response.json()["submissions"]
    assert item["index"] == "1"


def _error(code: int, message: str) -> dict[str, Any]:
    return {"status": "error", "error": {"code": code, "message": message}}


BAD_SUBMITS: list[tuple[str, dict[str, Any], int, dict[str, Any]]] = [
    ("no client", {"client": None}, 400, _error(2, 'missing required parameter "client"')),
    ("unknown client", {"client": "nope"}, 400, _error(4, "invalid API key")),
    ("no user", {"user": None}, 400, _error(2, 'missing required parameter "user"')),
    (
        "unknown user",
        {"user": "nope"},
        400,
        _error(6, 'invalid user API key ("User with the API key does not exist")'),
    ),
    (
        "no fingerprint",
        {"fingerprint.3": None},
        400,
        _error(2, 'missing required parameter "fingerprint"'),
    ),
    (
        "empty fingerprint",
        {"fingerprint.3": ""},
        400,
        _error(2, 'missing required parameter "fingerprint.3"'),
    ),
    ("bad fingerprint", {"fingerprint.3": "AQAB!!"}, 400, _error(3, "invalid fingerprint")),
    (
        "algorithm 0",
        {"fingerprint.3": "AAAABEGCYFGiJFEUSUkUAA"},
        400,
        _error(3, "invalid fingerprint"),
    ),
    (
        "no duration",
        {"duration.3": None},
        400,
        _error(2, 'missing required parameter "duration.3"'),
    ),
    (
        "text duration",
        {"duration.3": "abc"},
        400,
        _error(2, 'missing required parameter "duration.3"'),
    ),
    (
        "zero duration",
        {"duration.3": "0"},
        400,
        _error(8, 'parameter "duration.3" must be a positive integer'),
    ),
    (
        "negative duration",
        {"duration.3": "-5"},
        400,
        _error(8, 'parameter "duration.3" must be a positive integer'),
    ),
    (
        "absurd duration",
        {"duration.3": "32768"},
        400,
        _error(8, 'parameter "duration.3" must be a positive integer'),
    ),
    (
        "negative bitrate",
        {"bitrate.3": "-1"},
        400,
        _error(9, 'parameter "bitrate.3" must be a positive integer'),
    ),
    ("bad mbid", {"mbid.3": "abc"}, 400, _error(7, 'parameter "mbid.3" is not a valid UUID')),
    ("bad puid", {"puid.3": "abc"}, 400, _error(7, 'parameter "puid.3" is not a valid UUID')),
    (
        "bad foreignid",
        {"foreignid.3": "aaa"},
        400,
        _error(
            10,
            'parameter "foreignid.3" is not a valid foreign ID, it must be in the format vendor:id',
        ),
    ),
    ("unknown format", {"format": "html"}, 400, _error(1, 'unknown format "json"')),
]


@pytest.mark.parametrize(
    ("change", "status", "expected"), [c[1:] for c in BAD_SUBMITS], ids=[c[0] for c in BAD_SUBMITS]
)
async def test_bad_submit_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    keys: Keys,
    settings_api: Settings,
    change: dict[str, Any],
    status: int,
    expected: dict[str, Any],
) -> None:
    data: dict[str, Any] = {
        "client": keys.client,
        "user": keys.user,
        "fingerprint.3": FP,
        "duration.3": "100",
        "mbid.3": MBID1,
    }
    for name, value in change.items():
        if value is None:
            data.pop(name)
        else:
            data[name] = value
    before = await counts(settings_api)
    response = await client.post("/v2/submit", data=data)
    assert (response.status_code, response.json()) == (status, expected)
    assert await counts(settings_api) == before


async def test_disabled_application_is_refused(
    client: httpx.AsyncClient, settings_api: Settings
) -> None:
    disabled = await create_keys(settings_api, active=False)
    response = await client.post(
        "/v2/submission_status", data={"client": disabled.client, "id": "1"}
    )
    assert response.json() == _error(4, "invalid API key")


async def test_submission_status_pending_then_imported(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    submitted = await client.post(
        "/v2/submit",
        data={
            "client": keys.client,
            "user": keys.user,
            "fingerprint": FP,
            "duration": "201",
            "mbid": MBID1,
        },
    )
    sid = submitted.json()["submissions"][0]["id"]
    status = await client.post(
        "/v2/submission_status", data={"client": keys.client, "id": [str(sid), "x", "999999999"]}
    )
    assert status.json() == {
        "status": "ok",
        "submissions": [{"id": sid, "status": "pending"}, {"id": 999999999, "status": "pending"}],
    }
    gid = uuid.uuid4()
    databases = Databases(settings_api)
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            track = Track(gid=gid)
            session.add(track)
            await session.flush()
            fingerprint = Fingerprint(
                fingerprint=[1, 2, 3], length=201, track_id=track.id, submission_count=1
            )
            session.add(fingerprint)
            await session.commit()
        async with databases.session(Database.INGEST) as session:
            session.add(
                FingerprintSource(fingerprint_id=fingerprint.id, submission_id=sid, source_id=1)
            )
            await session.commit()
    finally:
        await databases.dispose()
    status = await client.get("/v2/submission_status", params={"client": keys.client, "id": sid})
    assert status.json() == {
        "status": "ok",
        "submissions": [{"id": sid, "status": "imported", "result": {"id": str(gid)}}],
    }


async def test_legacy_submit_uses_length_and_answers_xml(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    response = await client.post(
        "/submit",
        data={
            "client": keys.client,
            "user": keys.user,
            "fingerprint": FP,
            "length": "201",
            "format": "MP3",
            "mbid": MBID1,
        },
    )
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    [row] = await rows(settings_api, [int(response.text.split("<id>")[1].split("<")[0])])
    assert (row.length, row.format) == (201, "MP3")
    assert response.content == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<response><status>ok</status><submissions>"
        b"<submission><id>%d</id><status>pending</status></submission></submissions>"
        b"</response>" % row.id
    )
    missing = await client.post(
        "/submit",
        data={"client": keys.client, "user": keys.user, "fingerprint": FP, "length": "0"},
    )
    assert missing.status_code == 400
    assert b'<message>missing required parameter "length"</message>' in missing.content
