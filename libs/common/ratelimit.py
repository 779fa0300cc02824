"""acoustid.org's Redis rate limiter: a 20 s sliding window made of four 5 s steps.

Every process of every replica counts into the same Redis keys, so a limit holds for the
whole deployment. A request increments the current step and sums it with the three before;
over ``rate * 20`` it takes its increment back and is refused. Keys expire after 25 s.
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


class RateLimiter:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    async def allow(self, bucket: str, name: str, rate: float, now: float | None = None) -> bool:
        step = int((time.time() if now is None else now) // STEP_SECONDS)
        keys = [key(self.settings, "rl", bucket, name, str(step - i)) for i in range(STEPS)]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(keys[0])
            pipe.expire(keys[0], WINDOW_SECONDS + STEP_SECONDS)
            pipe.mget(keys[1:])
            current, _, previous = await pipe.execute()
        total = int(current) + sum(int(v) for v in previous if v is not None)
        if total > rate * WINDOW_SECONDS:
            await self.redis.decr(keys[0])
            return False
        return True

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
        for bucket, name, rate in checks:
            if not await self.allow(bucket, name, rate, now):
                retry = STEP_SECONDS - (now % STEP_SECONDS)
                return Refusal(bucket, rate, max(1, math.ceil(retry)))
        return None
