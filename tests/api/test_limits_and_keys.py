"""Rate limits (per application, global, per IP, overrides, cluster-secret bypass) and the
API key caches, against real Redis and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
from sqlalchemy import update

from libs.common.apikeys import demo_client_key, is_demo_client_key
from libs.common.db import Database, Databases
from libs.common.models.app import Application
from libs.common.ratelimit import RateLimiter
from libs.common.redis import create_redis
from libs.common.settings import Settings
from services.api.keys import TTLCache
from tests.api.conftest import (
    CLUSTER_SECRET,
    Keys,
    api_settings,
    create_keys,
    make_fingerprint,
    running,
)

PUID = "a0c3a3b2-4b5e-4e2f-8a0b-9f1e2d3c4b5a"


def _refused(rate: str) -> dict[str, object]:
    return {
        "status": "error",
        "error": {
            "code": 14,
            "message": f"rate limit ({rate} requests per second) exceeded, try again later",
        },
    }


async def test_ip_limit_answers_429_with_retry_after(settings_api: Settings) -> None:
    settings = api_settings(
        settings_api, rate_limit_ip=0.1, redis_prefix=settings_api.redis_prefix + "ip:"
    )
    async with running(settings) as (_, client):
        answers = [
            await client.get("/v2/track/list_by_puid", params={"puid": PUID}) for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json() == _refused("0.100000")
        # Both counted requests leave the window together: at most the whole window away.
        assert 1 <= int(answers[2].headers["retry-after"]) <= 20
        bypass = await client.get(
            "/v2/track/list_by_puid", params={"puid": PUID, "secret": CLUSTER_SECRET}
        )
        assert bypass.status_code == 200
        wrong = await client.get("/v2/track/list_by_puid", params={"puid": PUID, "secret": "x"})
        assert wrong.status_code == 429
        bad_request = await client.get("/v2/track/list_by_puid", params={"puid": "x"})
        assert bad_request.json()["error"]["code"] == 7


async def test_application_limit_and_its_override(settings_api: Settings) -> None:
    keys = await create_keys(settings_api)
    busy = await create_keys(settings_api)
    settings = api_settings(
        settings_api,
        rate_limit_application=0.1,
        rate_limit_ip=0.15,
        rate_limit_overrides=[f"application.{busy.application_id}=1000"],
        redis_prefix=settings_api.redis_prefix + "app:",
    )
    async with running(settings) as (_, client):
        answers = [
            await client.get("/v2/submission_status", params={"client": keys.client, "id": "1"})
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json() == _refused("0.100000")
        overridden = [
            await client.get("/v2/submission_status", params={"client": busy.client, "id": "1"})
            for _ in range(5)
        ]
        assert [a.status_code for a in overridden] == [200] * 5


async def test_sliding_window_forgets_after_twenty_seconds(settings_api: Settings) -> None:
    redis = create_redis(settings_api)
    limiter = RateLimiter(
        redis, settings_api.model_copy(update={"redis_prefix": settings_api.redis_prefix + "win:"})
    )
    try:
        now = 1_000_000.0
        assert [await limiter.allow("ip", "a", 0.1, now) for _ in range(3)] == [True, True, False]
        assert await limiter.allow("ip", "a", 0.1, now + 15) is False
        assert await limiter.allow("ip", "a", 0.1, now + 20) is True
    finally:
        await redis.aclose()


async def test_application_keys_are_cached_including_misses(
    api: tuple[object, httpx.AsyncClient], settings_api: Settings
) -> None:
    _, client = api
    keys = await create_keys(settings_api)
    first = await client.get("/v2/submission_status", params={"client": keys.client, "id": "1"})
    assert first.status_code == 200
    databases = Databases(settings_api)
    try:
        async with databases.session(Database.APP) as session:
            await session.execute(
                update(Application)
                .where(Application.id == keys.application_id)
                .values(active=False)
            )
            await session.commit()
    finally:
        await databases.dispose()
    cached = await client.get("/v2/submission_status", params={"client": keys.client, "id": "1"})
    assert cached.status_code == 200
    api_state = client._transport.app.state.api  # type: ignore[attr-defined]
    api_state.keys.applications.clear()
    refused = await client.get("/v2/submission_status", params={"client": keys.client, "id": "1"})
    assert refused.status_code == 400
    assert refused.json()["error"] == {"code": 4, "message": "invalid API key"}


def test_ttl_cache_evicts_the_least_recently_used() -> None:
    cache = TTLCache(size=2, ttl=60)
    cache.put("a", 1)
    cache.put("b", None)
    assert cache.get("b") == (True, None)
    cache.put("c", 3)
    assert cache.get("a") == (False, None)
    assert cache.get("c") == (True, 3)


def test_ttl_cache_entries_and_cached_misses_expire() -> None:
    now = [100.0]
    cache = TTLCache(size=10, ttl=5, clock=lambda: now[0])
    cache.put("found", 7)
    cache.put("unknown", None)  # a miss worth remembering
    now[0] = 104.9
    assert (cache.get("found"), cache.get("unknown")) == ((True, 7), (True, None))
    now[0] = 105.1
    assert (cache.get("found"), cache.get("unknown")) == ((False, None), (False, None))
    disabled = TTLCache(size=10, ttl=0, clock=lambda: now[0])
    disabled.put("found", 7)
    assert disabled.get("found") == (False, None)


def test_demo_key_is_valid_for_the_day_only_forward() -> None:
    today = date(2026, 11, 25)
    key = demo_client_key("s", today)
    assert len(key) == 11 and key[-2] == "A"
    assert is_demo_client_key("s", key, today)
    assert is_demo_client_key("s", demo_client_key("s", date(2026, 12, 1)), today)
    assert not is_demo_client_key("s", demo_client_key("s", date(2026, 12, 2)), today)
    assert not is_demo_client_key("s", demo_client_key("s", date(2026, 11, 24)), today)
    assert not is_demo_client_key("other", key, today)


async def test_demo_key_is_accepted_as_the_demo_application(
    client: httpx.AsyncClient, keys: Keys, settings_api: Settings
) -> None:
    """Asks about a submission of its own: the session's databases hold other tests' rows
    (a fixed id could be anyone's, imported or not), and no worker runs in these tests."""
    submitted = await client.post(
        "/v2/submit",
        data={
            "client": keys.client,
            "user": keys.user,
            "duration": "100",
            "fingerprint": make_fingerprint(144),
            "mbid": "9ff43b6a-4f16-427c-93c2-92307ca505e0",
        },
    )
    [submission] = submitted.json()["submissions"]
    sid = submission["id"]
    key = demo_client_key(settings_api.website_secret, datetime.now(UTC).date())
    response = await client.get("/v2/submission_status", params={"client": key, "id": sid})
    assert response.json() == {"status": "ok", "submissions": [{"id": sid, "status": "pending"}]}
    refused = await client.get("/v2/submission_status", params={"client": key[:-1], "id": sid})
    assert refused.json()["error"]["code"] == 4


async def test_a_refused_request_is_counted_in_no_bucket(settings_api: Settings) -> None:
    """IP, then application, then global: the first refusing is named, and the refused
    request spends nothing, so it cannot drain a shared key's or the global budget."""
    prefix = settings_api.redis_prefix + "order:"
    settings = settings_api.model_copy(
        update={"redis_prefix": prefix, "rate_limit_application": 10, "rate_limit_global": 0.1}
    )
    redis = create_redis(settings)
    limiter = RateLimiter(redis, settings)
    try:
        assert await limiter.check(7, "10.0.0.1") is None
        assert await limiter.check(7, "10.0.0.1") is None
        refusal = await limiter.check(7, "10.0.0.1")
        assert refusal is not None
        assert (refusal.bucket, refusal.rate) == ("global", 0.1)
        assert 1 <= refusal.retry_after <= 20
        counts: dict[str, int] = {}
        for k in await redis.keys(prefix + "rl:*"):  # the steps of a bucket, summed
            bucket = k.decode().removeprefix(prefix).rsplit(":", 1)[0]
            counts[bucket] = counts.get(bucket, 0) + int(await redis.get(k))
        assert counts == {"rl:app:7": 2, "rl:global:": 2, "rl:ip:10.0.0.1": 2}
    finally:
        await redis.aclose()
