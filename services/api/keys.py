"""Application and user API keys, with the original's short-lived in-process caches.

Every lookup carries a ``client`` key, so each process remembers the answer for
``api_key_cache_ttl`` seconds instead of asking PostgreSQL per request. Application and
user keys have separate caches because one string may be both kinds of key. A disabled
application therefore keeps working for at most one TTL, as on acoustid.org.

Unknown keys are remembered apart, for ``api_key_miss_cache_ttl``, so that a flood of
invented keys can neither evict the real ones nor make a new key wait a whole TTL; and each
client IP may fail only ``rate_limit_invalid_key`` checks a second before it is refused
without a query, since every unknown key otherwise costs a database transaction.

Application keys are read from the app database's read replica when one is configured
(every lookup checks one); user keys come from the primary, because a user key made by
``user/create_anonymous`` is used for a submission the moment it is answered.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from libs.common.apikeys import is_demo_client_key
from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application
from libs.common.ratelimit import RateLimiter, TooManyRequests
from libs.common.settings import Settings


class TTLCache:
    """A small LRU map whose entries also expire; ``None`` is a value worth caching."""

    def __init__(self, size: int, ttl: float) -> None:
        self.size = size
        self.ttl = ttl
        self._items: OrderedDict[str, tuple[float, int | None]] = OrderedDict()

    def get(self, key: str) -> tuple[bool, int | None]:
        entry = self._items.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._items.pop(key, None)
            return False, None
        self._items.move_to_end(key)
        return True, entry[1]

    def put(self, key: str, value: int | None) -> None:
        if self.ttl <= 0:
            return
        self._items[key] = (time.monotonic() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class KeyCache:
    """Found keys and unknown keys of one kind, each with its own lifetime."""

    def __init__(self, settings: Settings) -> None:
        self.known = TTLCache(settings.api_key_cache_size, settings.api_key_cache_ttl)
        self.unknown = TTLCache(settings.api_key_cache_size, settings.api_key_miss_cache_ttl)

    def get(self, key: str) -> tuple[bool, int | None]:
        hit, value = self.known.get(key)
        return (hit, value) if hit else self.unknown.get(key)

    def put(self, key: str, value: int | None) -> None:
        (self.known if value is not None else self.unknown).put(key, value)

    def clear(self) -> None:
        self.known.clear()
        self.unknown.clear()


class Keys:
    def __init__(
        self, databases: Databases, settings: Settings, limiter: RateLimiter | None = None
    ) -> None:
        self.databases = databases
        self.settings = settings
        self.limiter = limiter
        self.applications = KeyCache(settings)
        self.users = KeyCache(settings)

    async def _query(self, statement: Any, ip: str | None, replica: bool = False) -> int | None:
        """One key looked up in the database (on the read replica with ``replica``), unless
        ``ip`` has been guessing keys (``None``: a caller holding the cluster secret, who is
        never limited)."""
        guard = self.limiter if ip is not None else None
        if guard is not None and ip is not None:
            refusal = await guard.invalid_keys_refused(ip)
            if refusal is not None:
                raise TooManyRequests(refusal)
        sessions = self.databases.read_session if replica else self.databases.session
        async with sessions(Database.APP) as session:
            value: int | None = await session.scalar(statement)
        if value is None and guard is not None and ip is not None:
            await guard.record_invalid_key(ip)
        return value

    async def application_id(self, key: str, ip: str | None) -> int | None:
        """The id of the active application with this key, or of the demo application."""
        hit, value = self.applications.get(key)
        if hit:
            return value
        if is_demo_client_key(self.settings.website_secret, key, datetime.now(UTC).date()):
            value = self.settings.demo_application_id
        else:
            value = await self._query(
                select(Application.id).where(
                    Application.apikey == key, Application.active.is_(True)
                ),
                ip,
                replica=True,
            )
        self.applications.put(key, value)
        return value

    async def account_id(self, key: str, ip: str | None, cached: bool = True) -> int | None:
        if cached:
            hit, value = self.users.get(key)
            if hit:
                return value
        value = await self._query(select(Account.id).where(Account.apikey == key), ip)
        self.users.put(key, value)
        return value
