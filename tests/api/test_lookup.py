"""``/v2/lookup`` and legacy ``/lookup`` end to end: a real index process over HTTP, the
fingerprint database, compare2, metadata from links, counters in Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import numpy as np
import pytest
from sqlalchemy import update

from libs.common import stats_counters
from libs.common.db import Database, Databases
from libs.common.models.fingerprint import TrackMBID
from libs.common.redis import create_redis
from libs.common.settings import Settings
from tests.api.conftest import Keys, api_settings, create_keys, running
from tests.api.world import MBID_A, MBID_B, World, fp, items, noisy
from tests.conftest import closed_port_url


async def lookup(
    world: World, keys: Keys, path: str = "/v2/lookup", **params: Any
) -> httpx.Response:
    return await world.client.post(path, data={"client": keys.client, **params})


async def test_exact_match_answers_the_track_with_score_one(world: World, keys: Keys) -> None:
    response = await lookup(world, keys, fingerprint=fp(world.prints["b"]), duration="200")
    gid = world.tracks["b"][1]
    assert response.status_code == 200
    assert (
        response.content
        == b'{"results": [{"id": "%s", "score": 1.0}], "status": "ok"}' % gid.encode()
    )


async def test_similar_audio_scores_below_one_as_float4(world: World, keys: Keys) -> None:
    response = await lookup(
        world, keys, fingerprint=fp(noisy(world.prints["a"], 1, 1)), duration="203"
    )
    [result] = response.json()["results"]
    assert result["id"] == world.tracks["a"][1]
    assert 0.4 < result["score"] < 1.0
    assert result["score"] == float(str(np.float32(result["score"])))


async def test_duration_window_and_maxdurationdiff(world: World, keys: Keys) -> None:
    far = await lookup(world, keys, fingerprint=fp(world.prints["b"]), duration="220")
    assert far.json() == {"status": "ok", "results": []}
    wide = await lookup(
        world, keys, fingerprint=fp(world.prints["b"]), duration="220", maxdurationdiff="30"
    )
    assert [r["id"] for r in wide.json()["results"]] == [world.tracks["b"][1]]
    negative = await lookup(world, keys, fingerprint=fp(world.prints["b"]), duration="-5")
    assert negative.json() == {"status": "ok", "results": []}


async def test_unrelated_fingerprint_finds_nothing(world: World, keys: Keys) -> None:
    response = await lookup(world, keys, fingerprint=fp(items(99)), duration="200")
    assert response.content == b'{"results": [], "status": "ok"}'


async def test_meta_recordings_with_sources_enabled_links_only(world: World, keys: Keys) -> None:
    response = await lookup(
        world,
        keys,
        fingerprint=fp(world.prints["a"]),
        duration="200",
        meta="recordings sources compress",
    )
    assert response.json()["results"] == [
        {
            "id": world.tracks["a"][1],
            "score": 1.0,
            "recordings": [{"id": MBID_A, "sources": 5}, {"id": MBID_B, "sources": 3}],
        }
    ]
    ids_only = await lookup(
        world, keys, fingerprint=fp(world.prints["a"]), duration="200", meta="1"
    )
    assert ids_only.json()["results"][0]["recordings"] == [{"id": MBID_A}, {"id": MBID_B}]
    no_links = await lookup(
        world, keys, fingerprint=fp(world.prints["c"]), duration="300", meta="recordings bogus"
    )
    assert no_links.json()["results"] == [{"id": world.tracks["c"][1], "score": 1.0}]


async def test_usermeta_for_tracks_without_musicbrainz_data(world: World, keys: Keys) -> None:
    response = await lookup(
        world,
        keys,
        fingerprint=fp(world.prints["b"]),
        duration="200",
        meta="recordings releases usermeta",
    )
    assert response.json()["results"][0]["recordings"] == [
        {
            "title": "User title",
            "artists": ["User artist"],
            "releases": [{"title": "User album", "date": {"year": 1999}}],
        }
    ]


async def test_trackid_follows_merges_and_unknown_is_empty(world: World, keys: Keys) -> None:
    merged_gid = world.tracks["merged"][1]
    response = await lookup(world, keys, trackid=merged_gid.upper(), meta="recordingids")
    assert response.json() == {
        "status": "ok",
        "results": [
            {"id": merged_gid.upper(), "score": 1.0, "recordings": [{"id": MBID_A}, {"id": MBID_B}]}
        ],
    }
    unknown = await lookup(world, keys, trackid=str(uuid.uuid4()))
    assert unknown.json() == {"status": "ok", "results": []}


async def test_batch_keeps_order_indexes_and_drops_bad_items(world: World, keys: Keys) -> None:
    response = await lookup(
        world,
        keys,
        batch="1",
        **{
            "fingerprint.2": fp(world.prints["b"]),
            "duration.2": "200",
            "trackid.0": world.tracks["c"][1],
            "fingerprint.1": "broken",
            "duration.1": "200",
            "fingerprint.10": fp(items(98)),
            "duration.10": "200",
        },
    )
    assert response.json() == {
        "status": "ok",
        "fingerprints": [
            {"index": 0, "results": [{"id": world.tracks["c"][1], "score": 1.0}]},
            {"index": 2, "results": [{"id": world.tracks["b"][1], "score": 1.0}]},
            {"index": 10, "results": []},
        ],
    }
    unsuffixed = await lookup(
        world, keys, batch="1", fingerprint=fp(world.prints["b"]), duration="200"
    )
    assert unsuffixed.json()["fingerprints"][0]["index"] is None


async def test_without_batch_only_the_first_query_runs(world: World, keys: Keys) -> None:
    response = await lookup(
        world,
        keys,
        **{
            "fingerprint.0": fp(items(97)),
            "duration.0": "200",
            "fingerprint.1": fp(world.prints["b"]),
            "duration.1": "200",
        },
    )
    assert response.json() == {"status": "ok", "results": []}


async def test_batch_limits_are_413(world: World, keys: Keys) -> None:
    many = {f"fingerprint.{i}": fp(items(i)) for i in range(21)}
    many.update({f"duration.{i}": "200" for i in range(21)})
    response = await lookup(world, keys, batch="1", **many)
    assert response.status_code == 413
    assert response.json()["error"] == {"code": 19, "message": "request too large"}
    tracks = {f"trackid.{i}": str(uuid.uuid4()) for i in range(101)}
    response = await lookup(world, keys, batch="1", **tracks)
    assert response.status_code == 413


def _error(code: int, message: str) -> dict[str, Any]:
    return {"status": "error", "error": {"code": code, "message": message}}


BAD_LOOKUPS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("no client", {"client": None}, _error(2, 'missing required parameter "client"')),
    ("unknown client", {"client": "nope"}, _error(4, "invalid API key")),
    (
        "no fingerprint",
        {"fingerprint": None},
        _error(2, 'missing required parameter "fingerprint"'),
    ),
    (
        "empty fingerprint",
        {"fingerprint": ""},
        _error(2, 'missing required parameter "fingerprint"'),
    ),
    ("bad fingerprint", {"fingerprint": "AQAD%%"}, _error(3, "invalid fingerprint")),
    ("no duration", {"duration": None}, _error(2, 'missing required parameter "duration"')),
    ("zero duration", {"duration": "0"}, _error(2, 'missing required parameter "duration"')),
    ("text duration", {"duration": "2x"}, _error(2, 'missing required parameter "duration"')),
    (
        "maxdurationdiff 0",
        {"maxdurationdiff": "0"},
        _error(11, 'parameter "maxdurationdiff" must be between 1 and 30'),
    ),
    (
        "maxdurationdiff 31",
        {"maxdurationdiff": "31"},
        _error(11, 'parameter "maxdurationdiff" must be between 1 and 30'),
    ),
    ("bad trackid", {"trackid": "x"}, _error(7, 'parameter "trackid" is not a valid UUID')),
    ("unknown format", {"format": "csv"}, _error(1, 'unknown format "json"')),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in BAD_LOOKUPS], ids=[c[0] for c in BAD_LOOKUPS]
)
async def test_bad_lookup(
    world: World, keys: Keys, change: dict[str, Any], expected: dict[str, Any]
) -> None:
    data: dict[str, Any] = {
        "client": keys.client,
        "fingerprint": fp(world.prints["b"]),
        "duration": "200",
    }
    for name, value in change.items():
        if value is None:
            data.pop(name)
        else:
            data[name] = value
    response = await world.client.post("/v2/lookup", data=data)
    assert (response.status_code, response.json()) == (400, expected)


async def _fields(settings: Settings, kind: str, application_id: int) -> dict[str, int]:
    redis = create_redis(settings)
    try:
        found = {}
        for key in stats_counters.partition_keys(settings, kind):
            for field, count in (await redis.hgetall(key)).items():
                found[field.decode()] = int(count)
    finally:
        await redis.aclose()
    parse = {
        stats_counters.LOOKUPS: stats_counters.parse_lookup_field,
        stats_counters.USER_AGENTS: stats_counters.parse_user_agent_field,
    }[kind]
    # Parsed, not matched as text: ":16:" is also the hour of a field written at 16:xx.
    return {f: c for f, c in found.items() if parse(f).application_id == application_id}


async def _counted(
    settings: Settings, kind: str, application_id: int, total: int = 1
) -> dict[str, int]:
    """The fields once ``total`` counts reached Redis: the API adds its counts every flush
    interval, and a flush may fall between the counts of one request."""
    deadline = time.monotonic() + settings.stats_flush_interval + 5
    while sum((found := await _fields(settings, kind, application_id)).values()) < total:
        assert time.monotonic() < deadline, f"not {total} {kind} counts in Redis: {found}"
        await asyncio.sleep(0.1)
    return found


async def test_lookups_are_counted_per_application_hour_and_user_agent(world: World) -> None:
    keys = await create_keys(world.settings)
    await world.client.post(
        "/v2/lookup",
        data={
            "client": keys.client,
            "batch": "1",
            "fingerprint.0": fp(world.prints["b"]),
            "duration.0": "200",
            "fingerprint.1": fp(items(96)),
            "duration.1": "200",
        },
        headers={"user-agent": "Test/1.0 (x)"},
    )
    lookups = await _counted(world.settings, stats_counters.LOOKUPS, keys.application_id, 2)
    counted = sorted((stats_counters.parse_lookup_field(f).hit, c) for f, c in lookups.items())
    assert counted == [(False, 1), (True, 1)]
    agents = await _counted(world.settings, stats_counters.USER_AGENTS, keys.application_id)
    [(field, count)] = agents.items()
    agent = stats_counters.parse_user_agent_field(field)
    assert (agent.user_agent, agent.ip, count) == ("Test/1.0 (x)", "127.0.0.1", 1)


async def test_legacy_lookup_answers_xml_with_tracks(world: World, keys: Keys) -> None:
    response = await world.client.post(
        "/lookup",
        data={
            "client": keys.client,
            "fingerprint": fp(world.prints["a"]),
            "length": "200",
            "meta": "yes",
        },
    )
    gid = world.tracks["a"][1]
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    assert response.text == (
        "<?xml version='1.0' encoding='UTF-8'?>\n<response><results><result>"
        f"<id>{gid}</id><score>1.0</score><tracks><track><id>{MBID_A}</id></track>"
        f"<track><id>{MBID_B}</id></track></tracks></result></results>"
        "<status>ok</status></response>"
    )


async def test_index_down_is_503_service_unavailable(settings_api: Settings, keys: Keys) -> None:
    settings = api_settings(settings_api, index_urls=[closed_port_url("http")])
    async with running(settings) as (_, client):
        response = await client.post(
            "/v2/lookup",
            data={"client": keys.client, "fingerprint": fp(items(1)), "duration": "100"},
        )
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": 13,
        "message": "service currently unavailable, try again later",
    }


async def _set_disabled(settings: Settings, mbid: str, disabled: bool) -> None:
    databases = Databases(settings)
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            await session.execute(
                update(TrackMBID).where(TrackMBID.mbid == uuid.UUID(mbid)).values(disabled=disabled)
            )
            await session.commit()
    finally:
        await databases.dispose()


async def test_disabling_a_link_hides_it(world: World, keys: Keys) -> None:
    await _set_disabled(world.settings, MBID_B, True)
    try:
        response = await lookup(
            world, keys, fingerprint=fp(world.prints["a"]), duration="200", meta="recordingids"
        )
    finally:
        await _set_disabled(world.settings, MBID_B, False)
    assert response.json()["results"][0]["recordings"] == [{"id": MBID_A}]


async def _lookup_b(world: World, client: httpx.AsyncClient, key: str) -> httpx.Response:
    """A lookup of the world's track "b" through another app than the world's own."""
    data = {"client": key, "fingerprint": fp(world.prints["b"]), "duration": "200"}
    return await client.post("/v2/lookup", data=data)


async def test_no_free_database_connection_is_503_not_an_internal_error(
    world: World, keys: Keys
) -> None:
    settings = api_settings(world.settings, database_pool_size=1, database_pool_timeout=0.3)
    async with running(settings) as (app, client):
        reader = app.state.api.resources.databases.reader(Database.FINGERPRINT)
        held = [await reader.connect() for _ in range(settings.database_pool_size)]
        try:
            response = await _lookup_b(world, client, keys.client)
        finally:
            for conn in held:
                await conn.close()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == 13


async def test_counts_in_memory_reach_redis_when_the_api_stops(world: World) -> None:
    keys = await create_keys(world.settings)
    settings = api_settings(world.settings, stats_flush_interval=3600)
    async with running(settings) as (_, client):
        for _ in range(3):
            assert (await _lookup_b(world, client, keys.client)).status_code == 200
        assert await _fields(settings, stats_counters.LOOKUPS, keys.application_id) == {}
    lookups = await _fields(settings, stats_counters.LOOKUPS, keys.application_id)
    assert list(lookups.values()) == [3]
    assert stats_counters.parse_lookup_field(next(iter(lookups))).hit
