"""Application and user API keys, with the original's short-lived in-process caches.

Every lookup carries a ``client`` key, so each process remembers the answer (found or not)
for ``api_key_cache_ttl`` seconds instead of asking PostgreSQL per request. Application and
user keys have separate caches because one string may be both kinds of key. A disabled
application therefore keeps working for at most one TTL, as on acoustid.org.

Application keys are read from the app database's read replica when one is configured
(every lookup checks one); user keys come from the primary, because a user key made by
``user/create_anonymous`` is used for a submission the moment it is answered.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime

from sqlalchemy import select

from libs.common.apikeys import is_demo_client_key
from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application
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


class Keys:
    def __init__(self, databases: Databases, settings: Settings) -> None:
        self.databases = databases
        self.settings = settings
        self.applications = TTLCache(settings.api_key_cache_size, settings.api_key_cache_ttl)
        self.users = TTLCache(settings.api_key_cache_size, settings.api_key_cache_ttl)

    async def application_id(self, key: str) -> int | None:
        """The id of the active application with this key, or of the demo application."""
        hit, value = self.applications.get(key)
        if hit:
            return value
        if is_demo_client_key(self.settings.website_secret, key, datetime.now(UTC).date()):
            value = self.settings.demo_application_id
        else:
            async with self.databases.read_session(Database.APP) as session:
                value = await session.scalar(
                    select(Application.id).where(
                        Application.apikey == key, Application.active.is_(True)
                    )
                )
        self.applications.put(key, value)
        return value

    async def account_id(self, key: str, cached: bool = True) -> int | None:
        if cached:
            hit, value = self.users.get(key)
            if hit:
                return value
        async with self.databases.session(Database.APP) as session:
            value = await session.scalar(select(Account.id).where(Account.apikey == key))
        self.users.put(key, value)
        return value
