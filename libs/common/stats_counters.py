"""Usage counters the API increments in Redis and the cron job folds into ``stats_*`` tables.

Layout as on acoustid.org, under this deployment's key prefix: hashes ``lookups:<xx>`` with
fields ``<YYYY-MM-DD>:<HH>:<application id>:<hit|miss>`` and ``ua:<xx>`` with fields
``<YYYY-MM-DD>:<application id>:<quoted user agent>:<quoted ip>``, spread over 256
partitions ``00``..``ff`` so flushing can proceed in small independent pieces. The
partition is a CRC of the field (the original used Python's per-process randomised hash,
which scatters one field over several partitions).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote, unquote

from redis.asyncio import Redis

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


class CounterBuffer:
    """Counts added in memory and written to Redis by one pipeline per flush.

    A lookup used to pay a Redis round trip for its counters, about a twentieth of the API's
    CPU; summed in memory, a busy second costs one pipeline however many lookups it had.
    ``flush`` runs every ``interval`` seconds and once more at shutdown; counts of a process
    that is killed outright are lost, as are counts Redis refuses (the lookup never fails
    for them). Fields and keys are exactly those above, so the cron job folds them as before.
    """

    def __init__(self, redis: Redis, settings: Settings, interval: float) -> None:
        self.redis = redis
        self.settings = settings
        self.interval = interval
        self._counts: Counter[tuple[str, str]] = Counter()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _add(self, kind: str, field: str) -> None:
        self._counts[partition_key(self.settings, kind, field), field] += 1

    def add_lookups(self, when: datetime, application_id: int, hits: list[bool]) -> None:
        """One count per query of a (batch) lookup, as a hit or a miss."""
        for hit in hits:
            self._add(LOOKUPS, lookup_field(when, application_id, hit))

    def add_user_agent(self, when: datetime, application_id: int, user_agent: str, ip: str) -> None:
        self._add(USER_AGENTS, user_agent_field(when, application_id, user_agent, ip))

    async def flush(self) -> None:
        counts, self._counts = self._counts, Counter()
        if not counts:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for (redis_key, field), count in counts.items():
                    pipe.hincrby(redis_key, field, count)
                await pipe.execute()
        except Exception as exc:
            log.warning("cannot count %d lookup fields: %r", len(counts), exc)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="counter-flush")

    async def close(self) -> None:
        """Stops the periodic flush after a last one."""
        self._stop.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)
            await self.flush()
