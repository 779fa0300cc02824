"""The Redis client every service uses, and the key prefix that keeps deployments apart."""

from __future__ import annotations

from redis.asyncio import Redis

from libs.common.settings import Settings


def create_redis(settings: Settings) -> Redis:
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )


def key(settings: Settings, *parts: str) -> str:
    """A Redis key under this deployment's prefix, e.g. ``acoustid:rl:ip:1.2.3.4:123``."""
    return settings.redis_prefix + ":".join(parts)
