"""HTTP details every endpoint shares: the body (plain or gzip), client IP, paths and CORS.

Bodies are read incrementally and decompressed with a cap, so a gzip bomb costs at most
``max_request_size`` bytes of memory before it is refused with error 19 (HTTP 413), the
answer Picard shrinks its submission batches on. Path and header rules are plain ASGI so
they apply to every route, documented or not.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common.client_address import ClientAddress
from libs.common.errors import ErrorCode, WebServiceError
from services.api.params import Params

MAX_FORM_PARTS = 1000
_SLASHES = re.compile(r"/{2,}")


class BadBody(Exception):
    """A body that cannot be read at all (broken gzip); answered as a plain 400 like werkzeug."""


def too_large() -> WebServiceError:
    return WebServiceError(ErrorCode.REQUEST_TOO_LARGE)


def _fields(encoded: str) -> list[tuple[str, str]]:
    """URL-encoded fields, at most ``MAX_FORM_PARTS`` of them (error 19): the limit holds
    for the query string as for a form body."""
    try:
        return parse_qsl(encoded, keep_blank_values=True, max_num_fields=MAX_FORM_PARTS)
    except ValueError:
        raise too_large() from None


async def read_body(request: Request, limit: int) -> bytes:
    """The (decompressed) body; more than ``limit`` bytes either side of gzip is error 19."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large()
    gzipped = request.headers.get("content-encoding", "").strip().lower() == "gzip"
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    received = 0
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large()
        if decoder is not None:
            try:
                chunk = decoder.decompress(chunk, limit + 1 - size)
            except zlib.error as exc:
                raise BadBody("request body is not valid gzip") from exc
            if decoder.unconsumed_tail:
                raise too_large()
        size += len(chunk)
        if size > limit:
            raise too_large()
        parts.append(chunk)
    if decoder is not None and received and not decoder.eof:
        raise BadBody("request body is truncated gzip")
    return b"".join(parts)


async def _multipart(request: Request, body: bytes, limit: int) -> list[tuple[str, str]]:
    """Multipart fields parsed by Starlette from the already-decompressed body."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    replay = Request(request.scope, receive)
    try:
        form = await replay.form(
            max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS, max_part_size=limit
        )
    except Exception as exc:
        if "Too many" in str(exc) or "exceeded" in str(exc):
            raise too_large() from exc
        raise BadBody("request body is not valid multipart") from exc
    items: list[tuple[str, str]] = []
    for name, value in form.multi_items():
        if isinstance(value, str):
            items.append((name, value))
        else:
            items.append((name, (await value.read()).decode("utf-8", "replace")))
    return items


async def read_params(request: Request, limit: int) -> Params:
    """Query string and form body merged (``request.values``); other bodies are ignored.

    NUL characters become spaces: PostgreSQL cannot store them, and the original answered
    them with an internal error.
    """
    items = _fields(request.url.query)
    body = await read_body(request, limit)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        items += await _multipart(request, body, limit)
    elif body and content_type in ("", "application/x-www-form-urlencoded"):
        items += _fields(body.decode("utf-8", "replace"))
        if len(items) > MAX_FORM_PARTS:
            raise too_large()
    return Params((name, value.replace("\x00", " ")) for name, value in items)


def client_ip(request: Request, addresses: ClientAddress) -> str:
    """The client as the trusted proxies report it (every ``X-Forwarded-For`` header, in
    order, as one list), else the peer."""
    peer = request.client.host if request.client else None
    return addresses.of(peer, ",".join(request.headers.getlist("x-forwarded-for")))


class TransportMiddleware:
    """Collapses ``//`` and a trailing ``/`` in paths, and allows any origin on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _SLASHES.sub("/", scope["path"])
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}

        async def send_with_cors(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() != b"access-control-allow-origin"
                ]
                message["headers"] = [*headers, (b"access-control-allow-origin", b"*")]
            await send(message)

        await self.app(scope, receive, send_with_cors)
