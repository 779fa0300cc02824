"""One cron leader at a time across processes and machines: a lease in Redis.

The lease is a key holding the owner's id with a TTL; only the owner extends it (a Lua
compare-and-extend), so a leader that stalls past the TTL loses it to another process
instead of two running the same job at once.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from libs.common.redis import key
from libs.common.settings import Settings

_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, settings: Settings, ttl: float) -> None:
        self.redis = redis
        self.key = key(settings, "cron", "leader")
        self.owner = uuid.uuid4().hex
        self.ttl_ms = int(ttl * 1000)

    async def hold(self) -> bool:
        """Takes the lease if free, extends it if ours; True while we are the leader."""
        if await self.redis.set(self.key, self.owner, nx=True, px=self.ttl_ms):
            return True
        extended = await self.redis.eval(_EXTEND, 1, self.key, self.owner, self.ttl_ms)
        return bool(extended)

    async def release(self) -> None:
        await self.redis.eval(_RELEASE, 1, self.key, self.owner)
