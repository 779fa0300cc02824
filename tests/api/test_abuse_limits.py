"""What keeps one client from harming the others: the client address comes only from our
own proxies, a refused request spends no one's budget, unknown keys are limited per IP and
cannot push real keys out of the cache, Retry-After is long enough to obey once, and a guessable
website secret stops a production start. Real Redis, PostgreSQL and service processes."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time

import pytest
from sqlalchemy import event

from libs.common.client_address import ClientAddress
from libs.common.db import Database
from libs.common.ratelimit import RateLimiter
from libs.common.redis import create_redis
from libs.common.settings import DEV_WEBSITE_SECRET, Settings
from services.api.keys import KeyCache
from tests.api.conftest import api_settings, create_keys, running
from tests.conftest import REPO, settings_env

PUID = "a0c3a3b2-4b5e-4e2f-8a0b-9f1e2d3c4b5a"


def _isolated(settings: Settings, name: str, **overrides: object) -> Settings:
    """The API's settings with their own Redis counters, so other tests' counts do not leak."""
    return api_settings(settings, redis_prefix=f"{settings.redis_prefix}{name}:", **overrides)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ([], "10.0.0.5", "1.2.3.4", "10.0.0.5"),
        (["10.0.0.5"], "10.0.0.5", "1.2.3.4", "1.2.3.4"),
        (["10.0.0.5"], "10.0.0.5", "6.6.6.6, 1.2.3.4", "1.2.3.4"),
        (["10.0.0.0/8"], "10.0.0.5", "6.6.6.6, 1.2.3.4, 10.1.1.1", "1.2.3.4"),
        (["10.0.0.5"], "192.0.2.9", "1.2.3.4", "192.0.2.9"),
        (["10.0.0.5"], "10.0.0.5", "not-an-ip", "10.0.0.5"),
        (["10.0.0.5"], "10.0.0.5", "", "10.0.0.5"),
        (["::1"], "::1", "2001:db8::7", "2001:db8::7"),
        ([], None, "1.2.3.4", "0.0.0.0"),
    ],
)
def test_the_client_is_the_right_most_hop_not_added_by_our_proxies(
    trusted: list[str], peer: str | None, forwarded: str, client: str
) -> None:
    assert ClientAddress(trusted).of(peer, forwarded) == client


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(
        ValueError, match=re.escape("'proxy.example' is not an IP address or network")
    ):
        Settings(trusted_proxies=["proxy.example"])  # type: ignore[call-arg]


async def test_invented_forwarded_addresses_do_not_escape_the_ip_limit(
    settings_api: Settings,
) -> None:
    settings = _isolated(settings_api, "xff", rate_limit_ip=0.5)  # 10 in the window
    async with running(settings) as (_, client):
        codes = [
            (
                await client.get(
                    "/v2/track/list_by_puid",
                    params={"puid": PUID},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
            ).status_code
            for n in range(30)
        ]
    assert codes == [200] * 10 + [429] * 20


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    settings_api: Settings,
) -> None:
    settings = _isolated(settings_api, "proxy", rate_limit_ip=0.1, trusted_proxies=["127.0.0.1"])
    async with running(settings) as (_, client):

        async def from_ip(ip: str) -> int:
            headers = {"X-Forwarded-For": f"203.0.113.66, {ip}"}  # the left hop is invented
            answer = await client.get(
                "/v2/track/list_by_puid", params={"puid": PUID}, headers=headers
            )
            return answer.status_code

        assert [await from_ip("192.0.2.1") for _ in range(3)] == [200, 200, 429]
        assert [await from_ip("192.0.2.2") for _ in range(3)] == [200, 200, 429]


async def test_one_abusive_ip_cannot_lock_other_users_out_of_a_shared_key(
    settings_api: Settings,
) -> None:
    """A shared client key (Picard's) with 100 requests per window; one IP sends 150."""
    shared = await create_keys(settings_api)
    settings = _isolated(
        settings_api,
        "shared",
        rate_limit_ip=1.0,
        rate_limit_application=5.0,
        trusted_proxies=["127.0.0.1"],
    )
    async with running(settings) as (_, client):

        async def status(ip: str) -> int:
            answer = await client.get(
                "/v2/submission_status",
                params={"client": shared.client, "id": "1"},
                headers={"X-Forwarded-For": ip},
            )
            return answer.status_code

        abuser = [await status("192.0.2.66") for _ in range(150)]
        assert abuser == [200] * 20 + [429] * 130
        others = [await status(f"192.0.2.{n}") for n in range(1, 5) for _ in range(20)]
        assert others == [200] * 80  # the key's 100 less the abuser's 20 it was allowed


async def test_unknown_keys_are_limited_per_ip_and_cost_no_query_once_refused(
    settings_api: Settings,
) -> None:
    good = await create_keys(settings_api)
    settings = _isolated(
        settings_api, "badkeys", rate_limit_invalid_key=0.5, trusted_proxies=["127.0.0.1"]
    )
    async with running(settings) as (app, client):
        queries: list[str] = []
        databases = app.state.resources.databases
        # Key checks read the replica's engine (the primary's when no _RO URL is set).
        for engine in (databases.engine(Database.APP), databases.reader(Database.APP)):
            event.listen(
                engine.sync_engine, "before_cursor_execute", lambda *a: queries.append(a[2])
            )
        guesser = {"X-Forwarded-For": "192.0.2.99"}
        answers = [
            await client.get(
                "/v2/submission_status",
                params={"client": secrets.token_urlsafe(8), "id": "1"},
                headers=guesser,
            )
            for _ in range(300)
        ]
        codes = [a.json()["error"]["code"] for a in answers]
        assert codes == [4] * 10 + [14] * 290
        assert len([q for q in queries if "application" in q]) == 10
        assert 1 <= int(answers[-1].headers["retry-after"]) <= 20
        # The guesser's real key still works from the cache; another IP is not affected.
        ok = await client.get(
            "/v2/submission_status",
            params={"client": good.client, "id": "1"},
            headers={"X-Forwarded-For": "192.0.2.100"},
        )
        assert ok.status_code == 200


def test_unknown_keys_cannot_evict_known_ones_and_are_forgotten_sooner() -> None:
    settings = Settings(  # type: ignore[call-arg]
        api_key_cache_size=10, api_key_cache_ttl=60, api_key_miss_cache_ttl=0.05
    )
    cache = KeyCache(settings)
    cache.put("picard", 7)
    for n in range(100):
        cache.put(f"guess{n}", None)
    assert cache.get("picard") == (True, 7)
    assert cache.get("guess99") == (True, None)
    time.sleep(0.1)
    assert cache.get("guess99") == (False, None)
    assert cache.get("picard") == (True, 7)


async def test_retry_after_names_the_first_moment_the_request_fits(settings_api: Settings) -> None:
    redis = create_redis(settings_api)
    settings = settings_api.model_copy(
        update={"redis_prefix": settings_api.redis_prefix + "ra2:", "rate_limit_ip": 0.2}
    )
    limiter = RateLimiter(redis, settings)
    try:
        start = 2_000_000.0  # a step boundary
        for offset in (0.0, 5.5, 11.0, 16.5):
            assert await limiter.check(None, "192.0.2.1", start + offset) is None
        now = start + 18.0
        refusal = await limiter.check(None, "192.0.2.1", now)
        assert refusal is not None and refusal.bucket == "ip"
        # The oldest request leaves the window at the next step boundary, 2 s from now.
        assert refusal.retry_after == 2
        assert await limiter.check(None, "192.0.2.1", now + refusal.retry_after - 0.5) is not None
        assert await limiter.check(None, "192.0.2.1", now + refusal.retry_after) is None
        # A burst in one step: everything must leave, which takes the whole window.
        burst = start + 100.0
        for _ in range(4):
            assert await limiter.check(None, "192.0.2.2", burst + 1) is None
        refusal = await limiter.check(None, "192.0.2.2", burst + 1)
        assert refusal is not None and refusal.retry_after == 19
        assert await limiter.check(None, "192.0.2.2", burst + 1 + 18.5) is not None
        assert await limiter.check(None, "192.0.2.2", burst + 1 + 19) is None
    finally:
        await redis.aclose()


@pytest.mark.parametrize("service", ["api", "web"])
@pytest.mark.parametrize("secret", ["", DEV_WEBSITE_SECRET])
def test_a_production_instance_refuses_a_guessable_website_secret(
    settings_api: Settings, service: str, secret: str
) -> None:
    env = {**os.environ, **settings_env(settings_api)}
    env["ACOUSTID_WEBSITE_SECRET"] = secret
    env["ACOUSTID_ENV"] = "production"
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "run", service],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "ACOUSTID_WEBSITE_SECRET must be set to a secret of your own" in done.stderr
