"""Prometheus request metrics and the ``/metrics`` route, shared by every HTTP service.

The middleware is plain ASGI (not Starlette's BaseHTTPMiddleware) so it adds no task per
request on the lookup hot path. It also sets the request id that the JSON logs carry and
writes the access log line (``libs.common.access_log``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from libs.common import access_log
from libs.common.logging import new_request_id, request_id

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered", ["service", "method", "route", "status"]
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["service", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

REQUEST_ID_HEADER = b"x-request-id"
USER_AGENT_HEADER = b"user-agent"


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def _incoming_request_id(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == REQUEST_ID_HEADER and 0 < len(value) <= 64:
            return str(value.decode("latin-1"))
    return new_request_id()


def _user_agent(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == USER_AGENT_HEADER:
            return str(value.decode("latin-1"))
    return None


class ObservabilityMiddleware:
    """Times and counts every request by route template, tags it with a request id and
    writes its access log line (a share ``access_log_rate`` of them; 0 = none)."""

    def __init__(self, app: ASGIApp, service: str, access_log_rate: float = 0.0) -> None:
        self.app = app
        self.service = service
        self.access_log_rate = access_log_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope)
        token = request_id.set(rid)
        facts = access_log.RequestFacts()
        facts_token = access_log.current.set(facts)
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except ClientDisconnect:
            # Nobody is left to answer; a traceback would only hide real errors in the log.
            log.info("%s %s: the client went away", scope.get("method"), scope.get("path"))
        finally:
            seconds = time.perf_counter() - start
            route, method, path = _route_of(scope), scope.get("method", ""), scope["path"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            DURATION.labels(self.service, route).observe(seconds)
            if access_log.wanted(self.access_log_rate, path, status):
                access_log.write(method, path, status, seconds, facts, _user_agent(scope), rid)
            access_log.current.reset(facts_token)
            request_id.reset(token)


def _registry() -> CollectorRegistry:
    """This process's metrics, or with several processes on one port the sum over all."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def metrics_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return router
