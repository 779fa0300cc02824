"""acoustid.org's Redis rate limiter: a 20 s sliding window made of four 5 s steps.

Every process of every replica counts into the same Redis keys, so a limit holds for the
whole deployment. A request increments the current step and sums it with the three before;
over ``rate * 20`` it takes its increment back and is refused. Keys expire after 25 s.
All of a request's buckets are checked by one Lua script: three pipelined round trips per
request were a fifth of the API's CPU under load.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from libs.common.redis import key
from libs.common.settings import Settings

WINDOW_SECONDS = 20
STEP_SECONDS = 5
STEPS = WINDOW_SECONDS // STEP_SECONDS


@dataclass(frozen=True)
class Refusal:
    """Which bucket refused, at what rate, and when a retry can succeed."""

    bucket: str
    rate: float
    retry_after: int


_CHECK = """
local steps, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
for bucket = 0, #ARGV - 3 do
  local first = bucket * steps + 1
  local total = redis.call('INCR', KEYS[first])
  redis.call('EXPIRE', KEYS[first], ttl)
  for i = first + 1, first + steps - 1 do
    total = total + (tonumber(redis.call('GET', KEYS[i])) or 0)
  end
  if total > tonumber(ARGV[bucket + 3]) then
    redis.call('DECR', KEYS[first])
    return bucket + 1
  end
end
return 0
"""
"""Every bucket of a request in one round trip, in order; the first that refuses takes its
increment back and is returned (1-based), so buckets after it are not counted, as before."""


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self._check = redis.register_script(_CHECK)

    async def _refused(self, buckets: list[tuple[str, str, float]], now: float) -> int | None:
        """The index of the first bucket over its limit, or None; one script call."""
        step = int(now // STEP_SECONDS)
        keys = [
            key(self.settings, "rl", bucket, name, str(step - i))
            for bucket, name, _ in buckets
            for i in range(STEPS)
        ]
        limits = [repr(rate * WINDOW_SECONDS) for _, _, rate in buckets]
        refused = int(await self._check(keys, [STEPS, WINDOW_SECONDS + STEP_SECONDS, *limits]))
        return refused - 1 if refused else None

    async def allow(self, bucket: str, name: str, rate: float, now: float | None = None) -> bool:
        when = time.time() if now is None else now
        return await self._refused([(bucket, name, rate)], when) is None

    async def check(self, application_id: int | None, ip: str) -> Refusal | None:
        """The first bucket (application, global, IP) that refuses this request, if any."""
        limits = self.settings.rate_limits
        checks: list[tuple[str, str, float]] = []
        skip_ip = False
        if application_id is not None:
            override = limits.get(f"application.{application_id}")
            skip_ip = override is not None
            rate = override if override is not None else self.settings.rate_limit_application
            checks.append(("app", str(application_id), rate))
        checks.append(("global", "", self.settings.rate_limit_global))
        if not skip_ip:
            checks.append(("ip", ip, limits.get(f"ip.{ip}", self.settings.rate_limit_ip)))
        now = time.time()
        refused = await self._refused(checks, now)
        if refused is None:
            return None
        _, _, rate = checks[refused]
        retry = STEP_SECONDS - (now % STEP_SECONDS)
        return Refusal(checks[refused][0], rate, max(1, math.ceil(retry)))
