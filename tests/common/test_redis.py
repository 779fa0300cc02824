"""A burst larger than the Redis pool waits for connections instead of failing requests."""

from __future__ import annotations

import asyncio

from libs.common.redis import create_redis, key
from libs.common.settings import Settings


async def test_burst_beyond_the_pool_succeeds(settings: Settings) -> None:
    redis = create_redis(settings.model_copy(update={"redis_max_connections": 4}))
    name = key(settings, "burst")
    try:
        await asyncio.gather(*(redis.incr(name) for _ in range(300)))
        assert int(await redis.get(name)) == 300
    finally:
        await redis.delete(name)
        await redis.aclose()
