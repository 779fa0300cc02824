"""``track/list_by_mbid``, ``fingerprint``, ``user/*``, the internal cluster API and
``/metrics``: exact answers, rows written, and refusals."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application, StatsLookups, StatsUserAgents
from libs.common.models.fingerprint import Fingerprint, Track, TrackMBID
from libs.common.settings import Settings
from tests.api.conftest import CLUSTER_SECRET, Keys, api_settings, running

MBID = "7853bd8c-2141-4b4d-9f62-578bab214ab9"
OTHER_MBID = "54b7b412-fc69-4fc7-8c96-17800eda3a98"


def _error(code: int, message: str) -> dict[str, Any]:
    return {"status": "error", "error": {"code": code, "message": message}}


@pytest.fixture(scope="module")
async def linked(settings_api: Settings) -> dict[str, Any]:
    """Two tracks on MBID (one link disabled) and a stored fingerprint."""
    databases = Databases(settings_api)
    try:
        async with databases.session(Database.FINGERPRINT) as session:
            enabled, disabled = Track(gid=uuid.uuid4()), Track(gid=uuid.uuid4())
            session.add_all([enabled, disabled])
            await session.flush()
            session.add_all(
                [
                    TrackMBID(track_id=enabled.id, mbid=uuid.UUID(MBID), submission_count=1),
                    TrackMBID(
                        track_id=disabled.id,
                        mbid=uuid.UUID(MBID),
                        submission_count=1,
                        disabled=True,
                    ),
                ]
            )
            fingerprint = Fingerprint(
                fingerprint=[-5, 0, 2**31 - 1], length=123, track_id=enabled.id, submission_count=1
            )
            session.add(fingerprint)
            await session.commit()
            return {
                "enabled": str(enabled.gid),
                "disabled": str(disabled.gid),
                "fingerprint": fingerprint.id,
            }
    finally:
        await databases.dispose()


async def test_list_by_mbid_single_batch_and_disabled(
    client: httpx.AsyncClient, linked: dict[str, Any]
) -> None:
    single = await client.get("/v2/track/list_by_mbid", params={"mbid": MBID})
    assert single.json() == {"status": "ok", "tracks": [{"id": linked["enabled"]}]}
    both = await client.get("/v2/track/list_by_mbid", params={"mbid": MBID, "disabled": "1"})
    assert sorted(both.json()["tracks"], key=len) == [
        {"id": linked["enabled"]},
        {"id": linked["disabled"], "disabled": True},
    ]
    batch = await client.get(
        "/v2/track/list_by_mbid", params={"mbid": [OTHER_MBID, MBID], "batch": "1"}
    )
    assert batch.json() == {
        "status": "ok",
        "mbids": [
            {"mbid": OTHER_MBID, "tracks": []},
            {"mbid": MBID, "tracks": [{"id": linked["enabled"]}]},
        ],
    }
    xml = await client.get("/v2/track/list_by_mbid", params={"mbid": MBID, "format": "xml"})
    assert xml.text.endswith(
        f"<response><status>ok</status><tracks><track><id>{linked['enabled']}</id></track>"
        "</tracks></response>"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, _error(2, 'missing required parameter "mbid"')),
        ({"mbid": [MBID, "nope"]}, _error(7, 'parameter "mbid" is not a valid UUID')),
    ],
)
async def test_list_by_mbid_errors(
    client: httpx.AsyncClient, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = await client.get("/v2/track/list_by_mbid", params=params)
    assert (response.status_code, response.json()) == (400, expected)


async def test_fingerprint_by_id(client: httpx.AsyncClient, linked: dict[str, Any]) -> None:
    response = await client.get("/v2/fingerprint", params={"id": linked["fingerprint"]})
    assert response.json() == {
        "status": "ok",
        "fingerprint": {"id": linked["fingerprint"], "hashes": [-5, 0, 2**31 - 1], "duration": 123},
    }
    missing = await client.get("/v2/fingerprint", params={"id": "2000000000"})
    assert (missing.status_code, missing.json()) == (404, _error(18, "fingerprint not found"))
    zero = await client.get("/v2/fingerprint", params={"id": "0"})
    assert zero.json() == _error(2, 'missing required parameter "id"')


async def test_user_lookup_and_create_anonymous(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    found = await client.get("/v2/user/lookup", params={"user": keys.user})
    assert found.json() == {"status": "ok", "user": {"apikey": keys.user}}
    unknown = await client.get("/v2/user/lookup", params={"user": "nope"})
    assert unknown.json()["error"]["code"] == 6
    created = await client.post(
        "/v2/user/create_anonymous",
        data={"client": keys.client, "clientversion": "0.9"},
        headers={"X-Forwarded-For": "192.0.2.7"},
    )
    apikey = created.json()["user"]["apikey"]
    assert len(apikey) == 10
    databases = Databases(settings_api)
    try:
        async with databases.session(Database.APP) as session:
            account = await session.scalar(select(Account).where(Account.apikey == apikey))
    finally:
        await databases.dispose()
    assert account is not None
    # The peer's address: an X-Forwarded-For without a trusted proxy is not believed.
    assert (account.name, account.anonymous, str(account.created_from)) == (
        "Anonymous",
        True,
        "127.0.0.1",
    )
    assert (account.application_id, account.application_version) == (keys.application_id, "0.9")
    no_client = await client.post("/v2/user/create_anonymous")
    assert no_client.json() == _error(2, 'missing required parameter "client"')


async def test_create_musicbrainz_needs_https(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/user/create_musicbrainz", params={"access_token": "t"})
    assert response.json() == _error(16, "only requests over HTTPS are allowed here")
    missing = await client.get("/v2/user/create_musicbrainz")
    assert missing.json() == _error(2, 'missing required parameter "access_token"')


async def test_internal_calls_need_the_secret(client: httpx.AsyncClient) -> None:
    for name in ("create_account", "check_application", "update_lookup_stats"):
        response = await client.post(f"/v2/internal/{name}", data={"secret": "wrong"})
        assert (response.status_code, response.json()) == (400, _error(12, "not allowed"))


async def test_internal_accounts_applications_and_status(
    client: httpx.AsyncClient, settings_api: Settings
) -> None:
    secret = {"secret": CLUSTER_SECRET}
    account = (await client.post("/v2/internal/create_account", data=secret)).json()
    app = (
        await client.post(
            "/v2/internal/create_application",
            data={**secret, "account_id": account["id"], "name": "Ext", "version": "2"},
        )
    ).json()
    assert app["status"] == "ok" and len(app["api_key"]) == 10
    check = await client.post(
        "/v2/internal/check_application", data={**secret, "api_key": app["api_key"]}
    )
    assert check.json() == {"status": "ok", "id": app["id"]}
    off = await client.post(
        "/v2/internal/update_application_status",
        data={**secret, "account_id": account["id"], "application_id": app["id"], "active": ""},
    )
    assert off.json() == {"status": "ok", "id": app["id"], "active": False}
    quirk = await client.post(
        "/v2/internal/update_application_status",
        data={**secret, "account_id": account["id"], "application_id": app["id"], "active": "0"},
    )
    assert quirk.json()["active"] is True
    foreign = await client.post(
        "/v2/internal/update_application_status",
        data={**secret, "account_id": account["id"] + 1000, "application_id": app["id"]},
    )
    assert foreign.json() == _error(17, "unknown application")
    databases = Databases(settings_api)
    try:
        async with databases.session(Database.APP) as session:
            stored = await session.get(Application, app["id"])
    finally:
        await databases.dispose()
    assert stored is not None and (stored.name, stored.version, stored.active) == ("Ext", "2", True)


async def test_internal_stats_upserts_and_report(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    secret = {"secret": CLUSTER_SECRET, "application_id": keys.application_id}
    for kind, count in (("hit", 3), ("hit", 2), ("miss", 4)):
        response = await client.post(
            "/v2/internal/update_lookup_stats",
            data={**secret, "date": "2026-01-02", "hour": "5", "type": kind, "count": count},
        )
        assert response.json() == {"status": "ok"}
    for _ in range(2):
        await client.post(
            "/v2/internal/update_user_agent_stats",
            data={**secret, "date": "2026-01-02", "user_agent": "UA", "ip": "1.2.3.4", "count": 7},
        )
    report = await client.post(
        "/v2/internal/lookup_stats",
        data={"secret": CLUSTER_SECRET, "client": keys.client, "from": "2026-01-01"},
    )
    assert report.json() == {
        "status": "ok",
        "stats": [{"date": "2026-01-02", "count_hits": 5, "count_nohits": 4, "count": 9}],
    }
    databases = Databases(settings_api)
    try:
        async with databases.session(Database.APP) as session:
            lookups = await session.scalar(
                select(StatsLookups).where(StatsLookups.application_id == keys.application_id)
            )
            agents = await session.scalar(
                select(StatsUserAgents).where(StatsUserAgents.application_id == keys.application_id)
            )
    finally:
        await databases.dispose()
    assert lookups is not None and (lookups.date, lookups.hour) == (date(2026, 1, 2), 5)
    assert agents is not None and agents.count == 14
    no_keys = await client.post("/v2/internal/lookup_stats", data={"secret": CLUSTER_SECRET})
    assert no_keys.json() == _error(4, "invalid API key")


async def test_replica_refuses_stats_writes(settings_api: Settings, keys: Keys) -> None:
    async with running(api_settings(settings_api, cluster_role="replica")) as (_, client):
        response = await client.post(
            "/v2/internal/update_lookup_stats",
            data={"secret": CLUSTER_SECRET, "application_id": keys.application_id},
        )
    assert response.json() == _error(12, "not allowed")


async def test_metrics_use_the_original_names(client: httpx.AsyncClient, keys: Keys) -> None:
    await client.get("/v2/track/list_by_puid", params={"puid": "x"})
    await client.get("/v2/submission_status", params={"client": keys.client, "id": "1"})
    text = (await client.get("/metrics")).text
    assert (
        f'api_requests_total{{app="{keys.application_id}",request="SubmissionStatusHandler"}}'
        in text
    )
    assert 'api_handled_errors_total{code="invalid_uuid",request="TrackListByPUIDHandler"}' in text
    assert (
        'api_request_duration_seconds_bucket{le="0.005",request="SubmissionStatusHandler"}' in text
    )
    for name in (
        "api_lookup_searches_total",
        "api_lookup_matches_total",
        "api_new_submissions_total",
    ):
        assert name in text


async def test_http_metrics_name_the_route_and_requests_keep_their_id(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    """The endpoints skip FastAPI's router; the transport and observability layers do not."""
    response = await client.get(
        "/v2/submission_status/",
        params={"client": keys.client, "id": "1"},
        headers={"x-request-id": "abc123"},
    )
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "abc123"
    assert response.headers["access-control-allow-origin"] == "*"
    text = (await client.get("/metrics")).text
    assert (
        'http_requests_total{method="GET",route="/v2/submission_status",service="api",'
        'status="200"}' in text
    )
