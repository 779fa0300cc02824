"""The Redis client every service uses, and the key prefix that keeps deployments apart."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from libs.common.settings import Settings


def create_redis(settings: Settings) -> Redis:
    """A client whose pool makes a burst wait for a connection instead of failing.

    redis-py's default pool raises "Too many connections" past 100 at once, which a lookup
    burst reaches: every request takes one for its rate limit; waiting costs microseconds.
    """
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=2.0,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    return Redis(connection_pool=pool)


def key(settings: Settings, *parts: str) -> str:
    """A Redis key under this deployment's prefix, e.g. ``acoustid:rl:ip:1.2.3.4:123``."""
    return settings.redis_prefix + ":".join(parts)
