"""Idle keep-alive connections stay open as long as ``http_keep_alive`` says.

Every service (the index, the API, the website) runs under ``libs.common.server``'s uvicorn
options; uvicorn's own default closes an idle connection after 5 s, which a client that keeps
one between bursts (fpindex's client, our index client) sees as ``RemoteDisconnected``.
"""

from __future__ import annotations

import asyncio

import uvicorn
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from libs.common.server import _options
from libs.common.settings import Settings
from tests.conftest import free_port

REQUEST = b"GET /ping HTTP/1.1\r\nhost: test\r\n\r\n"


async def ping(_request) -> PlainTextResponse:
    return PlainTextResponse("pong")


async def answered_after_idle(settings: Settings, idle: float) -> bool:
    """True if a second request on one connection, ``idle`` seconds after the first, is
    answered; False if the server closed the connection meanwhile."""
    port = free_port()
    app = Starlette(routes=[Route("/ping", ping)])
    server = uvicorn.Server(uvicorn.Config(app, **_options(settings, port)))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(REQUEST)
        assert (await reader.readline()).startswith(b"HTTP/1.1 200")
        while await reader.readline() != b"\r\n":
            pass
        assert await reader.readexactly(4) == b"pong"
        await asyncio.sleep(idle)
        writer.write(REQUEST)
        status = await reader.readline()
        writer.close()
        return status.startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        await task


async def test_idle_connection_outlives_uvicorns_default() -> None:
    settings = Settings()
    assert settings.http_keep_alive >= 600
    assert await answered_after_idle(settings, 6.5)


async def test_keep_alive_is_settable() -> None:
    assert not await answered_after_idle(Settings(http_keep_alive=1.0), 2.5)
