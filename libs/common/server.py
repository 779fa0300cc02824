"""Runs one service's ASGI app under uvicorn with the house logging."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from libs.common.logging import configure_logging
from libs.common.settings import Settings, get_settings


def serve(app: FastAPI, settings: Settings, port: int, service: str) -> int:
    """Serves until SIGINT/SIGTERM: in-flight requests finish, then the lifespan closes."""
    configure_logging(service, settings.log_level)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        limit_concurrency=2000,
    )
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else 1


def run_service(
    create_app: Callable[[Settings], FastAPI], service: str, port: Callable[[Settings], int]
) -> int:
    """The body of every service's ``__main__``: settings from the environment, then serve."""
    settings = get_settings()
    return serve(create_app(settings), settings, port(settings), service)
