"""What every HTTP service is built from: its connections, middleware and standard routes.

A service states which databases it uses and whether it needs Redis and NATS; the rest
(engines, health checks for exactly those dependencies, metrics, request ids, orderly
shutdown) is the same everywhere and lives here once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from nats.aio.client import Client as NATS
from redis.asyncio import Redis

from libs.common import nats as nats_helpers
from libs.common.db import Database, Databases
from libs.common.docs import docs_router
from libs.common.health import Health, add_database, add_nats, add_redis, health_router
from libs.common.metrics import ObservabilityMiddleware, metrics_router
from libs.common.redis import create_redis
from libs.common.routing import Dispatcher, Route, document
from libs.common.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Resources:
    """The connections of one service process, opened at start-up and closed at shutdown."""

    settings: Settings
    name: str
    databases: Databases
    health: Health = field(default_factory=Health)
    redis: Redis | None = None
    nats: NATS | None = None
    _nats_task: asyncio.Task[None] | None = None

    async def connect_nats(self) -> None:
        self.nats = await nats_helpers.connect(self.settings, self.name)
        await nats_helpers.ensure_streams(self.nats.jetstream(), self.settings)

    async def nats_ready(self) -> NATS:
        """The NATS connection, once the background connect has made it."""
        if self._nats_task is not None:
            await asyncio.shield(self._nats_task)
        if self.nats is None:
            raise RuntimeError(f"{self.name} does not use NATS")
        return self.nats

    def start_nats(self) -> None:
        """Connects in the background: a service whose NATS is down still starts and says so
        on ``/_health`` instead of crash-looping, and connects once NATS is back."""
        self._nats_task = asyncio.create_task(self.connect_nats())

    async def close(self) -> None:
        self.health.shutting_down = True
        if self._nats_task is not None and not self._nats_task.done():
            self._nats_task.cancel()
        if self.nats is not None and self.nats.is_connected:
            # Not drain(): with a pull subscription open it waits out its whole timeout.
            with contextlib.suppress(Exception):
                await self.nats.flush(timeout=2)
            await self.nats.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.databases.dispose()


Hook = Callable[[Resources], Awaitable[None]]


def build_resources(
    settings: Settings,
    name: str,
    databases: Sequence[Database],
    uses_redis: bool,
    uses_nats: bool,
    read_replicas: bool = False,
) -> Resources:
    """Resources with the health checks of exactly the dependencies named; with
    ``read_replicas`` reads (and ``/_health_ro``) go to the ``*_RO`` database URLs."""
    resources = Resources(
        settings=settings, name=name, databases=Databases(settings, read_replicas)
    )
    for db in databases:
        add_database(resources.health, resources.databases, db)
    if uses_redis:
        resources.redis = create_redis(settings)
        add_redis(resources.health, resources.redis, settings)
    if uses_nats:
        add_nats(resources.health, lambda: resources.nats)
    return resources


def create_service_app(
    resources: Resources,
    *,
    title: str,
    description: str,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
    routes: Sequence[Route] = (),
    fallback_routes: Sequence[Route] = (),
    docs: bool = False,
) -> FastAPI:
    """An app with health, metrics and request ids; ``app.state.resources`` holds the rest.

    ``routes`` and ``fallback_routes`` are the service's own table
    (:mod:`libs.common.routing`), both in ``/openapi.json``. ``routes`` are answered before
    FastAPI's router, inside every middleware (this one's and any the service adds after);
    ``fallback_routes`` after FastAPI's own routes, for templates such as ``/{index}`` that
    would otherwise shadow ``/metrics``.

    With ``docs`` the service serves ``/openapi.json``, ``/docs`` and ``/redoc`` (assets
    included, no CDN); without, none of them: a schema with no documented routes is noise.
    """
    uses_nats = any(dep.name == "nats" for dep in resources.health.dependencies)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if uses_nats:
            resources.start_nats()
        if on_start is not None:
            await on_start(resources)
        log.info("%s started", resources.name)
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop(resources)
            await resources.close()
            log.info("%s stopped", resources.name)

    app = FastAPI(
        title=title,
        description=description,
        lifespan=lifespan,
        openapi_url="/openapi.json" if docs else None,
        docs_url=None,
        redoc_url=None,
    )
    if docs:
        app.include_router(docs_router(title))
    app.state.resources = resources
    app.include_router(health_router(resources.health))
    app.include_router(metrics_router())
    for route in fallback_routes:
        app.add_route(route.path, route.handler, list(route.methods or ()), include_in_schema=False)
    if routes:
        app.add_middleware(Dispatcher, routes=routes)
    if routes or fallback_routes:
        document(app, [*routes, *fallback_routes])
    app.add_middleware(
        ObservabilityMiddleware,
        service=resources.name,
        access_log_rate=resources.settings.access_log_sample_rate,
    )
    return app


LoopBody = Callable[[Resources, asyncio.Event], Coroutine[Any, Any, None]]


class MainLoop:
    """A service's long-running loop (a consumer, a scheduler), tied to the app's lifespan.

    Stopping sets the event the body watches and gives it ``grace`` seconds to finish the
    work in hand; a body still waiting for its first NATS connection has nothing in hand
    and is cancelled at once, so a service whose NATS is down still stops promptly.
    """

    def __init__(self, name: str, body: LoopBody, grace: float = 10.0) -> None:
        self.name = name
        self.body = body
        self.grace = grace
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self, resources: Resources) -> None:
        self.task = asyncio.create_task(self.body(resources, self.stop), name=self.name)
        self.task.add_done_callback(self._log_exit)

    async def close(self, resources: Resources) -> None:
        self.stop.set()
        if self.task is None or self.task.done():
            return
        if resources.nats is None:
            self.task.cancel()
        else:
            await asyncio.wait({self.task}, timeout=self.grace)
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    def _log_exit(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s stopped", self.name, exc_info=task.exception())
