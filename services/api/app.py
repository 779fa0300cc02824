"""The public web service (``/v2/lookup``, ``/v2/submit``, ...), as a FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from libs.common.client_address import ClientAddress
from libs.common.db import Database
from libs.common.index_client import IndexClient
from libs.common.ratelimit import RateLimiter
from libs.common.server import app_in_process
from libs.common.service import Resources, build_resources, create_service_app
from libs.common.settings import Settings
from libs.common.stats_counters import CounterBuffer
from services.api.endpoint import ApiState, route
from services.api.keys import Keys
from services.api.routes import ENDPOINTS
from services.api.search import Searcher
from services.api.transport import TransportMiddleware

log = logging.getLogger(__name__)

DATABASES = (Database.APP, Database.FINGERPRINT, Database.INGEST)

NOT_FOUND_HTML = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again.</p>\n"
)


async def _not_found(request: Request, exc: Exception) -> HTMLResponse:
    """Unknown paths get werkzeug's HTML 404, not the envelope, as on acoustid.org."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return HTMLResponse(NOT_FOUND_HTML, status_code=404)
    return HTMLResponse(f"<h1>{status}</h1>", status_code=status)


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(
        settings, "api", DATABASES, uses_redis=True, uses_nats=True, read_replicas=True
    )
    index = IndexClient.from_settings(settings)

    counters = (
        CounterBuffer(resources.redis, settings, settings.stats_flush_interval)
        if resources.redis is not None
        else None
    )

    async def start(_: Resources) -> None:
        """Readies what every lookup uses before the first one arrives: a service that just
        started under load otherwise spent its first seconds opening connections while
        requests queued behind them."""
        if counters is not None:
            counters.start()
        try:
            await resources.databases.open_readers(Database.FINGERPRINT)
        except (OSError, SQLAlchemyError) as exc:  # health reports it; requests retry
            log.warning("cannot open database connections at start: %r", exc)

    async def stop(_: Resources) -> None:
        if counters is not None:
            await counters.close()
        await index.close()

    app = create_service_app(
        resources,
        title="AcoustID web service",
        description="Fingerprint lookups and submissions, compatible with acoustid.org v2.",
        on_start=start,
        on_stop=stop,
        docs=True,
        routes=[route(endpoint) for endpoint in ENDPOINTS],
    )
    limiter = RateLimiter(resources.redis, settings) if resources.redis is not None else None
    app.state.api = ApiState(
        resources,
        Keys(resources.databases, settings, limiter),
        limiter,
        Searcher(index, resources.databases, settings),
        counters,
        ClientAddress(settings.trusted_proxies),
    )
    app.add_exception_handler(HTTPException, _not_found)
    app.add_middleware(TransportMiddleware)
    return app


def app_from_environment() -> FastAPI:
    """The app of one of several API processes (``ACOUSTID_API_PROCESSES`` > 1)."""
    return app_in_process(create_app, "api")
