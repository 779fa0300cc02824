"""The three health routes every service serves.

``/_health`` proves the service can do its job: it writes to each database (assigning a
transaction id fails on a read-only replica), sets a Redis key and asks JetStream for its
account. ``/_health_ro`` only reads, from the databases reads are served from (the
``*_RO`` replicas for the API and the website), for readiness probes and read-only mode.
``/_health_docker`` touches nothing, so a container is not restarted because a dependency
is down. A failing dependency gives 503 with its name in the body; while the service shuts
down every route but ``/_health_docker`` answers 503 so load balancers drain it first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from nats.aio.client import Client as NATS
from redis.asyncio import Redis
from sqlalchemy import text

from libs.common.db import Database, Databases
from libs.common.redis import key
from libs.common.settings import Settings

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[object]]
CHECK_TIMEOUT = 2.0


@dataclass
class Dependency:
    name: str
    read: Probe
    write: Probe


@dataclass
class Health:
    """What a service depends on; services add their own with :meth:`add`."""

    dependencies: list[Dependency] = field(default_factory=list)
    shutting_down: bool = False

    def add(self, name: str, read: Probe, write: Probe | None = None) -> None:
        self.dependencies.append(Dependency(name, read, write or read))

    async def failures(self, write: bool) -> list[str]:
        async def run(dep: Dependency) -> str | None:
            try:
                await asyncio.wait_for((dep.write if write else dep.read)(), CHECK_TIMEOUT)
            except Exception as exc:
                log.warning("health check %s failed: %r", dep.name, exc)
                first_line = (str(exc).strip().splitlines() or [""])[0]
                return f"{dep.name}: {type(exc).__name__}: {first_line}".rstrip(": ")
            return None

        results = await asyncio.gather(*(run(dep) for dep in self.dependencies))
        return [r for r in results if r is not None]


def add_database(health: Health, databases: Databases, db: Database) -> None:
    async def read() -> None:
        # The engine reads are served from: the replica when the service reads from one.
        await databases.fetch(db, text("SELECT 1"))

    async def write() -> None:
        async with databases.engine(db).connect() as conn:
            await conn.execute(text("SELECT pg_current_xact_id()"))
            await conn.rollback()

    health.add(f"postgres-{db.value}", read, write)


def add_redis(health: Health, redis: Redis, settings: Settings) -> None:
    async def read() -> None:
        await redis.ping()

    async def write() -> None:
        await redis.set(key(settings, "health"), "ok", ex=60)

    health.add("redis", read, write)


def add_nats(health: Health, nc: Callable[[], NATS | None]) -> None:
    """``nc`` is a getter because the connection is made after the app is built."""

    async def read() -> None:
        client = nc()
        if client is None or not client.is_connected:
            raise ConnectionError("not connected")
        await client.flush(timeout=int(CHECK_TIMEOUT))

    async def write() -> None:
        await read()
        client = nc()
        assert client is not None
        await client.jetstream().account_info()

    health.add("nats", read, write)


def health_router(health: Health) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    async def answer(write: bool) -> PlainTextResponse:
        if health.shutting_down:
            return PlainTextResponse("shutdown in process", status_code=503)
        failed = await health.failures(write)
        if failed:
            return PlainTextResponse("unhealthy\n" + "\n".join(failed), status_code=503)
        return PlainTextResponse("ok")

    @router.get("/_health")
    async def health_rw() -> PlainTextResponse:
        return await answer(write=True)

    @router.get("/_health_ro")
    async def health_ro() -> PlainTextResponse:
        return await answer(write=False)

    @router.get("/_health_docker")
    async def health_docker() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return router
