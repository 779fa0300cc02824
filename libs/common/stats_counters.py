"""Usage counters the API increments in Redis and the cron job folds into ``stats_*`` tables.

Layout as on acoustid.org, under this deployment's key prefix: hashes ``lookups:<xx>`` with
fields ``<YYYY-MM-DD>:<HH>:<application id>:<hit|miss>`` and ``ua:<xx>`` with fields
``<YYYY-MM-DD>:<application id>:<quoted user agent>:<quoted ip>``, spread over 256
partitions ``00``..``ff`` so flushing can proceed in small independent pieces. The
partition is a CRC of the field (the original used Python's per-process randomised hash,
which scatters one field over several partitions).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, unquote

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from libs.common.redis import key
from libs.common.settings import Settings

log = logging.getLogger(__name__)

PARTITIONS = 256
LOOKUPS = "lookups"
USER_AGENTS = "ua"


def partition_key(settings: Settings, kind: str, field: str) -> str:
    return key(settings, kind, f"{zlib.crc32(field.encode()) % PARTITIONS:02x}")


def partition_keys(settings: Settings, kind: str) -> list[str]:
    return [key(settings, kind, f"{i:02x}") for i in range(PARTITIONS)]


def lookup_field(when: datetime, application_id: int, hit: bool) -> str:
    return f"{when:%Y-%m-%d}:{when:%H}:{application_id}:{'hit' if hit else 'miss'}"


def user_agent_field(when: datetime, application_id: int, user_agent: str, ip: str) -> str:
    return f"{when:%Y-%m-%d}:{application_id}:{quote(user_agent, safe='')}:{quote(ip, safe='')}"


@dataclass(frozen=True)
class LookupCount:
    date: date
    hour: int
    application_id: int
    hit: bool


@dataclass(frozen=True)
class UserAgentCount:
    date: date
    application_id: int
    user_agent: str
    ip: str


def parse_lookup_field(field: str) -> LookupCount:
    day, hour, application_id, kind = field.split(":")
    return LookupCount(date.fromisoformat(day), int(hour), int(application_id), kind == "hit")


def parse_user_agent_field(field: str) -> UserAgentCount:
    day, application_id, user_agent, ip = field.split(":")
    return UserAgentCount(
        date.fromisoformat(day), int(application_id), unquote(user_agent), unquote(ip)
    )


def _add_lookups(
    pipe: Pipeline, settings: Settings, when: datetime, application_id: int, hits: list[bool]
) -> None:
    for hit in hits:
        field = lookup_field(when, application_id, hit)
        pipe.hincrby(partition_key(settings, LOOKUPS, field), field, 1)


def _add_user_agent(
    pipe: Pipeline,
    settings: Settings,
    when: datetime,
    application_id: int,
    user_agent: str,
    ip: str,
) -> None:
    field = user_agent_field(when, application_id, user_agent, ip)
    pipe.hincrby(partition_key(settings, USER_AGENTS, field), field, 1)


async def _increment(redis: Redis, fill: Callable[[Pipeline], None]) -> None:
    """One round trip; a Redis failure is logged and never fails the lookup being counted."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            fill(pipe)
            await pipe.execute()
    except Exception as exc:
        log.warning("cannot count lookups: %r", exc)


async def count_lookups(
    redis: Redis, settings: Settings, when: datetime, application_id: int, hits: list[bool]
) -> None:
    """One increment per query of a (batch) lookup."""
    await _increment(redis, lambda pipe: _add_lookups(pipe, settings, when, application_id, hits))


async def count_user_agent(
    redis: Redis, settings: Settings, when: datetime, application_id: int, user_agent: str, ip: str
) -> None:
    await _increment(
        redis,
        lambda pipe: _add_user_agent(pipe, settings, when, application_id, user_agent, ip),
    )


async def count_lookup_request(
    redis: Redis,
    settings: Settings,
    when: datetime,
    application_id: int,
    hits: list[bool],
    user_agent: str,
    ip: str,
) -> None:
    """A lookup request's query counters and its user-agent counter, in one round trip."""

    def fill(pipe: Pipeline) -> None:
        _add_lookups(pipe, settings, when, application_id, hits)
        _add_user_agent(pipe, settings, when, application_id, user_agent, ip)

    await _increment(redis, fill)
