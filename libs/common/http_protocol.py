"""uvicorn's HTTP protocol with deadlines for reading a request.

uvicorn waits as long as a client likes for the rest of a request's headers, and for a body
shorter than its ``Content-Length``: a few slow or lying clients hold connections (and an
API request's task) indefinitely. Here a connection must deliver a request's headers within
``http_header_timeout`` seconds of its first byte (or of connecting) and its body within
``http_body_timeout`` seconds of the headers; otherwise it is closed, which the app sees as a
client disconnect. Idle keep-alive connections keep uvicorn's own timeout.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class DeadlineProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, header_timeout: float, body_timeout: float, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, waiting_for: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire, waiting_for)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, waiting_for: str) -> None:
        self._deadline = None
        if self.transport is not None and not self.transport.is_closing():
            peer = self.client[0] if self.client else "?"
            log.info("closing the connection from %s: request %s too slow", peer, waiting_for)
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout, "headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_timeout, "body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


def deadline_protocol(header_timeout: float, body_timeout: float) -> Any:
    """What uvicorn's ``http`` option takes to build a connection's protocol with these
    deadlines; a partial of a module-level class, so several processes can unpickle it."""
    return functools.partial(
        DeadlineProtocol, header_timeout=header_timeout, body_timeout=body_timeout
    )
