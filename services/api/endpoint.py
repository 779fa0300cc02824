"""How every v1/v2 endpoint answers: parse, count, rate-limit, run, serialise.

The order is the original's: the format first (so every later error is in the caller's
format), then keys, then the other parameters, and only then the rate limiter, so a
malformed request is refused without spending the caller's quota. Each endpoint supplies a
``parse`` step (all validation, no writes) and a ``run`` step (the work).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import ClientDisconnect, Request

from libs.common import access_log
from libs.common.client_address import ClientAddress
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.ratelimit import RateLimiter, TooManyRequests
from libs.common.routing import Route
from libs.common.service import Resources
from libs.common.settings import Settings
from libs.common.stats_counters import CounterBuffer
from services.api import metrics
from services.api.formats import CONTENT_TYPES, DEFAULT_CALLBACK, Format, jsonp_callback, serialize
from services.api.keys import Keys
from services.api.params import Params, require
from services.api.search import Searcher
from services.api.transport import BadBody, client_ip, read_params

log = logging.getLogger(__name__)

P = TypeVar("P")
DOCUMENTED_METHODS = ("get", "post")


@dataclass
class ApiState:
    """What the endpoints share within one process."""

    resources: Resources
    keys: Keys
    limiter: RateLimiter | None
    searcher: Searcher
    counters: CounterBuffer | None
    addresses: ClientAddress

    @property
    def settings(self) -> Settings:
        return self.resources.settings


@dataclass
class Call:
    """One request being answered: its parameters and who sent it."""

    request: Request
    params: Params
    api: ApiState
    ip: str
    format: Format
    application_id: int | None = None
    account_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.api.settings

    async def application(self, name: str = "client") -> int:
        """The calling application from its key: error 2 if absent, 4 if unknown or disabled."""
        key = require(self.params, name)
        application_id = await self.api.keys.application_id(key, self.ip)
        if application_id is None:
            raise WebServiceError(ErrorCode.INVALID_APIKEY)
        self.application_id = application_id
        access_log.note_application(application_id)
        return application_id

    async def account(self, name: str = "user", cached: bool = True) -> int:
        """The submitting user from their key: error 2 if absent, 6 if unknown."""
        key = require(self.params, name)
        account_id = await self.api.keys.account_id(key, self.ip, cached=cached)
        if account_id is None:
            raise WebServiceError(ErrorCode.INVALID_USER_APIKEY)
        self.account_id = account_id
        return account_id

    def has_cluster_secret(self) -> bool:
        secret = self.settings.cluster_secret
        given = self.params.get("secret")
        return (
            bool(secret)
            and given is not None
            and hmac.compare_digest(given.encode(), secret.encode())
        )


@dataclass(frozen=True)
class Endpoint(Generic[P]):
    path: str
    name: str
    summary: str
    parse: Callable[[Call], Awaitable[P]]
    run: Callable[[Call, P], Awaitable[dict[str, Any]]]
    openapi: dict[str, Any] = field(default_factory=dict)
    forced_format: Format | None = None


def _format(params: Params) -> tuple[Format, str]:
    value = params.get("format") or Format.JSON.value
    try:
        fmt = Format(value)
    except ValueError:
        raise WebServiceError(ErrorCode.UNKNOWN_FORMAT, Format.JSON.value) from None
    return fmt, jsonp_callback(params.get("jsoncallback"))


def _query_format(request: Request) -> Format:
    """The format from the query string alone, for errors raised before the body is read."""
    try:
        return Format(request.query_params.get("format") or Format.JSON.value)
    except ValueError:
        return Format.JSON


def render(
    payload: dict[str, Any],
    status: int,
    fmt: Format,
    callback: str = DEFAULT_CALLBACK,
    headers: dict[str, str] | None = None,
) -> Response:
    response = Response(serialize(payload, fmt, callback), status_code=status, headers=headers)
    response.headers["content-type"] = CONTENT_TYPES[fmt]
    return response


async def answer(endpoint: Endpoint[Any], request: Request) -> Response:
    api: ApiState = request.app.state.api
    started = time.perf_counter()
    fmt = endpoint.forced_format or _query_format(request)
    callback = DEFAULT_CALLBACK
    call: Call | None = None
    try:
        params = await read_params(request, api.settings.max_request_size)
        if endpoint.forced_format is None:
            fmt, callback = _format(params)
        call = Call(request, params, api, client_ip(request, api.addresses), fmt)
        parsed = await endpoint.parse(call)
        metrics.REQUESTS.labels(metrics.app_label(call.application_id), endpoint.name).inc()
        if api.limiter is not None and not call.has_cluster_secret():
            refusal = await api.limiter.check(call.application_id, call.ip)
            if refusal is not None:
                raise TooManyRequests(refusal)
        payload = await endpoint.run(call, parsed)
        return render({"status": "ok", **payload}, 200, fmt, callback)
    except TooManyRequests as exc:
        app_label = metrics.app_label(call.application_id if call is not None else None)
        metrics.RATE_LIMITED.labels(exc.refusal.bucket, app_label).inc()
        metrics.HANDLED_ERRORS.labels(exc.name, endpoint.name).inc()
        headers = {"Retry-After": str(exc.refusal.retry_after)}
        return render(exc.payload(), exc.status, fmt, callback, headers)
    except WebServiceError as exc:
        metrics.HANDLED_ERRORS.labels(exc.name, endpoint.name).inc()
        return render(exc.payload(), exc.status, fmt, callback)
    except BadBody as exc:
        return PlainTextResponse(str(exc), status_code=400)
    except ClientDisconnect:
        log.info("%s: the client went away before its request was read", endpoint.name)
        return PlainTextResponse("client disconnected", status_code=400)
    except PoolTimeout:
        # Overload, not a bug: every database connection stayed busy for the whole
        # pool timeout. Clients are told to come back; the log gets a line, not a traceback.
        log.warning("%s: no database connection free, answering 503", endpoint.name)
        error = WebServiceError(ErrorCode.SERVICE_UNAVAILABLE)
        metrics.HANDLED_ERRORS.labels(error.name, endpoint.name).inc()
        return render(error.payload(), error.status, fmt, callback)
    except Exception as exc:
        log.exception("unhandled error in %s", endpoint.name)
        metrics.UNHANDLED_ERRORS.labels(endpoint.name, metrics.error_cause(exc)).inc()
        error = WebServiceError(ErrorCode.INTERNAL)
        return render(error.payload(), error.status, fmt, callback)
    finally:
        metrics.DURATION.labels(endpoint.name).observe(time.perf_counter() - started)


def route(endpoint: Endpoint[Any]) -> Route:
    """The endpoint's one registration: any method answers; GET and POST are documented."""

    async def handle(request: Request) -> Response:
        return await answer(endpoint, request)

    operations = {
        method: {
            "summary": endpoint.summary,
            "operationId": f"{endpoint.name.replace('.', '_')}_{method}",
            "responses": {"200": {"description": "Successful Response"}},
            **endpoint.openapi,
        }
        for method in DOCUMENTED_METHODS
    }
    return Route(endpoint.path, handle, operations=operations)
