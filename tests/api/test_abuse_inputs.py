"""Inputs that once answered 500: each now gets the documented error (or is ignored, as
the original ignores what it does not understand), and nothing is stored."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import text

from libs.chromaprint_cy.query import extract_query
from libs.common.db import Database, Databases
from libs.common.settings import Settings
from tests.api.conftest import Keys
from tests.api.world import World, fp, items

UUID = "0b2a5a0e-0000-4000-8000-00000000abcd"


def _error(code: int, message: str) -> dict[str, object]:
    return {"status": "error", "error": {"code": code, "message": message}}


async def test_a_uuid_with_a_trailing_newline_is_an_invalid_uuid(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    bad = UUID + "\n"
    cases = [
        ("/v2/track/list_by_mbid", {"mbid": bad}, "mbid"),
        ("/v2/track/list_by_puid", {"puid": bad}, "puid"),
        ("/v2/lookup", {"client": keys.client, "trackid": bad}, "trackid"),
    ]
    submit = {"client": keys.client, "user": keys.user, "duration": "200"}
    submit["fingerprint"] = fp(items(5))
    cases += [
        ("/v2/submit", {**submit, "mbid": bad}, "mbid"),
        ("/v2/submit", {**submit, "puid": bad}, "puid"),
    ]
    for path, params, name in cases:
        response = await client.post(path, data=params)
        assert response.status_code == 400, (path, response.text)
        assert response.json() == _error(7, f'parameter "{name}" is not a valid UUID')


async def test_a_huge_batch_suffix_is_not_a_batch_item(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    response = await client.post(
        "/v2/lookup",
        data={"client": keys.client, "batch": "1", f"fingerprint.{'9' * 5000}": "x"},
    )
    # Not a batch item, so the batch has no fingerprint at all.
    assert response.status_code == 400
    assert response.json() == _error(2, 'missing required parameter "fingerprint"')


async def _submissions(settings: Settings) -> int:
    databases = Databases(settings)
    try:
        async with databases.session(Database.INGEST) as session:
            return int(await session.scalar(text("SELECT count(*) FROM submission")) or 0)
    finally:
        await databases.dispose()


async def test_v1_submit_refuses_a_negative_length_and_stores_nothing(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    before = await _submissions(settings_api)
    response = await client.post(
        "/submit",
        data={
            "client": keys.client,
            "user": keys.user,
            "length": "-1",
            "fingerprint": fp(items(6)),
        },
    )
    assert response.status_code == 400
    assert b"<code>2</code>" in response.content and b"length" in response.content
    assert await _submissions(settings_api) == before


def _unknown_candidates() -> float:
    return REGISTRY.get_sample_value("api_lookup_unknown_candidates_total") or 0.0


async def test_index_ids_the_database_cannot_hold_are_ignored_and_counted(
    world: World, keys: Keys
) -> None:
    """fpindex ids go up to 2**32-1, fingerprint ids only to 2**31-1: such a candidate (an
    index out of step with its database) must not fail the lookup, nor a batch."""
    stray = items(4242)
    hashes = extract_query(stray).tolist()
    changes = [{"insert": {"id": doc, "hashes": hashes}} for doc in (2**31, 2**32 - 1)]
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{world.index_url}/main/_update", json={"changes": changes})
        assert answer.status_code == 200, answer.text
        found = {"hits": []}
        for _ in range(100):
            found = (
                await http.post(f"{world.index_url}/main/_search", json={"query": hashes})
            ).json()
            if len(found["results"]) == 2:
                break
    before = _unknown_candidates()
    single = await world.client.post(
        "/v2/lookup", data={"client": keys.client, "duration": "200", "fingerprint": fp(stray)}
    )
    assert single.status_code == 200
    assert single.json() == {"status": "ok", "results": []}
    batch = await world.client.post(
        "/v2/lookup",
        data={
            "client": keys.client,
            "batch": "1",
            "duration.0": "200",
            "fingerprint.0": fp(stray),
            "duration.1": "200",
            "fingerprint.1": fp(world.prints["b"]),
        },
    )
    assert batch.status_code == 200
    answers = batch.json()["fingerprints"]
    assert answers[0]["results"] == []
    assert [r["id"] for r in answers[1]["results"]] == [world.tracks["b"][1]]
    assert _unknown_candidates() - before == 4
