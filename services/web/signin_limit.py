"""Failed sign-ins counted per account and per IP in Redis, so guessing passwords is slow.

Counting in Redis makes the limit hold across every website process. An account that saw
``website_signin_attempts`` failures in ``website_signin_window`` seconds refuses further
tries (even with the right password) until the window passes; an IP gets three times as
many, since several people may share one address. A successful sign-in clears the
account's count but not the IP's, so one good password does not reset a guessing run.
"""

from __future__ import annotations

from redis.asyncio import Redis

from libs.common.redis import key
from libs.common.settings import Settings

IP_FACTOR = 3


def _keys(settings: Settings, email: str, ip: str) -> tuple[str, str]:
    return (
        key(settings, "web", "signin", "account", email),
        key(settings, "web", "signin", "ip", ip),
    )


async def retry_after(redis: Redis, settings: Settings, email: str, ip: str) -> int | None:
    """Seconds until the next try is allowed, or None when it may go ahead now."""
    account_key, ip_key = _keys(settings, email, ip)
    async with redis.pipeline(transaction=False) as pipe:
        for name in (account_key, ip_key):
            pipe.get(name)
            pipe.ttl(name)
        account_count, account_ttl, ip_count, ip_ttl = await pipe.execute()
    limit = settings.website_signin_attempts
    waits = []
    if int(account_count or 0) >= limit:
        waits.append(int(account_ttl))
    if int(ip_count or 0) >= limit * IP_FACTOR:
        waits.append(int(ip_ttl))
    return max(max(waits), 1) if waits else None


async def record_failure(redis: Redis, settings: Settings, email: str, ip: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        for name in _keys(settings, email, ip):
            pipe.incr(name)
            pipe.expire(name, settings.website_signin_window, nx=True)
        await pipe.execute()


async def clear_account(redis: Redis, settings: Settings, email: str) -> None:
    await redis.delete(_keys(settings, email, "")[0])
