"""acoustid.org's Redis rate limiter: a 20 s sliding window made of four 5 s steps.

Every process of every replica counts into the same Redis keys, so a limit holds for the
whole deployment. A request is counted in the current step of each of its buckets and the
step is summed with the three before; over ``rate * 20`` it is refused.

Unlike the original, a refused request is counted nowhere: the buckets are all checked
before any is incremented, and the client's own (IP) bucket is checked first. Otherwise one
client hammering a shared application key (Picard's, beets') would spend that key's and the
global budget with requests that were refused anyway, locking out every other user of it.
All of a request's buckets are checked by one Lua script: three pipelined round trips per
request were a fifth of the API's CPU under load.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from libs.common.errors import ErrorCode, WebServiceError
from libs.common.redis import key
from libs.common.settings import Settings

WINDOW_SECONDS = 20
STEP_SECONDS = 5
STEPS = WINDOW_SECONDS // STEP_SECONDS
KEY_TTL = WINDOW_SECONDS + STEP_SECONDS

INVALID_KEY_BUCKET = "badkey"
"""Failed API-key checks per client IP: unknown keys cost a database query each."""


@dataclass(frozen=True)
class Refusal:
    """Which bucket refused, at what rate, and when a retry can succeed."""

    bucket: str
    rate: float
    retry_after: int


class TooManyRequests(WebServiceError):
    """Error 14 for a refusal, carrying when to come back (``Retry-After``)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(ErrorCode.TOO_MANY_REQUESTS, refusal.rate)
        self.refusal = refusal


_CHECK = """
local steps, ttl, commit = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'
local buckets = #ARGV - 3
for bucket = 0, buckets - 1 do
  local first = bucket * steps
  local limit = tonumber(ARGV[bucket + 4])
  local counts = {}
  local total = 1
  for i = 1, steps do
    counts[i] = tonumber(redis.call('GET', KEYS[first + i])) or 0
    total = total + counts[i]
  end
  if total > limit then
    local boundaries = steps
    for k = 1, steps do
      total = total - counts[steps - k + 1]
      if total <= limit then
        boundaries = k
        break
      end
    end
    return {bucket + 1, boundaries}
  end
end
if commit then
  for bucket = 0, buckets - 1 do
    redis.call('INCR', KEYS[bucket * steps + 1])
    redis.call('EXPIRE', KEYS[bucket * steps + 1], ttl)
  end
end
return {0, 0}
"""
"""Every bucket of a request in one round trip, in order. The first bucket that would go over
its limit is returned (1-based) with the number of step boundaries after which this request
would fit, as its oldest steps leave the window; then nothing is incremented. Without
``commit`` the buckets are only read: would one more request fit?"""

_RECORD = """
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 0
"""


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self._check = redis.register_script(_CHECK)
        self._record = redis.register_script(_RECORD)

    def _keys(self, bucket: str, name: str, step: int) -> list[str]:
        return [key(self.settings, "rl", bucket, name, str(step - i)) for i in range(STEPS)]

    async def _refused(
        self, buckets: list[tuple[str, str, float]], now: float, commit: bool = True
    ) -> Refusal | None:
        step = int(now // STEP_SECONDS)
        keys = [k for bucket, name, _ in buckets for k in self._keys(bucket, name, step)]
        limits = [repr(rate * WINDOW_SECONDS) for _, _, rate in buckets]
        refused, boundaries = await self._check(keys, [STEPS, KEY_TTL, int(commit), *limits])
        if not refused:
            return None
        bucket, _, rate = buckets[int(refused) - 1]
        # The request fits once ``boundaries`` steps have left the window: the first at the
        # end of the current step, the others a step apart. One wait of this length suffices
        # unless other requests arrive in the meantime.
        wait = STEP_SECONDS - (now % STEP_SECONDS) + (int(boundaries) - 1) * STEP_SECONDS
        return Refusal(bucket, rate, max(1, math.ceil(wait)))

    async def allow(self, bucket: str, name: str, rate: float, now: float | None = None) -> bool:
        when = time.time() if now is None else now
        return await self._refused([(bucket, name, rate)], when) is None

    async def check(
        self, application_id: int | None, ip: str, now: float | None = None
    ) -> Refusal | None:
        """The first bucket (IP, application, global) that refuses this request, if any; a
        refused request is counted in none of them. An application with its own rate is
        trusted to police its users, so its requests skip the IP bucket, as on acoustid.org."""
        limits = self.settings.rate_limits
        checks: list[tuple[str, str, float]] = []
        override = None
        if application_id is not None:
            override = limits.get(f"application.{application_id}")
        if override is None:
            checks.append(("ip", ip, limits.get(f"ip.{ip}", self.settings.rate_limit_ip)))
        if application_id is not None:
            rate = override if override is not None else self.settings.rate_limit_application
            checks.append(("app", str(application_id), rate))
        checks.append(("global", "", self.settings.rate_limit_global))
        return await self._refused(checks, time.time() if now is None else now)

    async def invalid_keys_refused(self, ip: str, now: float | None = None) -> Refusal | None:
        """Whether ``ip`` has already failed too many key checks to be given another; reads
        only, since a request with a good key must not be counted."""
        bucket = (INVALID_KEY_BUCKET, ip, self.settings.rate_limit_invalid_key)
        return await self._refused([bucket], time.time() if now is None else now, commit=False)

    async def record_invalid_key(self, ip: str, now: float | None = None) -> None:
        step = int((time.time() if now is None else now) // STEP_SECONDS)
        await self._record(self._keys(INVALID_KEY_BUCKET, ip, step)[:1], [KEY_TTL])
