"""Runs one service's ASGI app under uvicorn with the house logging.

A service can run as several processes sharing its port (uvicorn's workers), which is how
one machine's cores serve the API: one Python process saturates one core. The processes
then keep their Prometheus values in files under one directory, and ``/metrics`` of any
of them answers the sum over all (``prometheus_client``'s multiprocess mode).
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from libs.common.http_protocol import deadline_protocol
from libs.common.logging import configure_logging
from libs.common.sentry import init_sentry
from libs.common.settings import Settings, get_settings

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def _options(settings: Settings, port: int) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": port,
        "log_config": None,
        "access_log": False,
        # The client address is ours to find (libs.common.client_address): uvicorn's own
        # rewrite would trust X-Forwarded-For from any local peer.
        "proxy_headers": False,
        "http": deadline_protocol(settings.http_header_timeout, settings.http_body_timeout),
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
        "limit_concurrency": 2000,
        # uvicorn closes idle keep-alive connections after 5 s by default; clients that keep
        # one between bursts (fpindex's, the API's index client) then hit a reset.
        "timeout_keep_alive": settings.http_keep_alive,
    }


def freeze_startup_objects() -> None:
    """Moves what building the app allocated out of the garbage collector's reach.

    Modules, routes and models live as long as the process; left in the oldest generation,
    every full collection walks them again, a pause that shows in the tail of latency.
    """
    gc.collect()
    gc.freeze()


def serve(app: FastAPI, settings: Settings, port: int, service: str) -> int:
    """Serves until SIGINT/SIGTERM: in-flight requests finish, then the lifespan closes."""
    configure_logging(service, settings.log_level)
    init_sentry(settings, service)
    freeze_startup_objects()
    server = uvicorn.Server(uvicorn.Config(app, **_options(settings, port)))
    server.run()
    return 0 if server.started else 1


def serve_processes(factory: str, settings: Settings, port: int, service: str, count: int) -> int:
    """``count`` processes of the app ``factory`` (``module:function``, no arguments) on one
    port; uvicorn replaces a process that dies and stops them all on SIGINT/SIGTERM."""
    configure_logging(service, settings.log_level)
    metrics_dir = tempfile.mkdtemp(prefix=f"acoustid-{service}-metrics-")
    os.environ[MULTIPROCESS_DIR] = metrics_dir
    try:
        uvicorn.run(factory, factory=True, workers=count, **_options(settings, port))
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def app_in_process(create_app: Callable[[Settings], FastAPI], service: str) -> FastAPI:
    """The app of one worker process: settings from the environment, the house logging."""
    settings = get_settings()
    configure_logging(service, settings.log_level)
    init_sentry(settings, service)
    app = create_app(settings)
    freeze_startup_objects()
    return app


def run_service(
    create_app: Callable[[Settings], FastAPI],
    service: str,
    port: Callable[[Settings], int],
    processes: Callable[[Settings], int] = lambda _: 1,
    factory: str = "",
    signs_with_website_secret: bool = False,
) -> int:
    """The body of every service's ``__main__``: settings from the environment, then serve
    in one process, or in ``processes(settings)`` through ``factory`` when more. A service
    that signs with the website secret refuses to start with a guessable one."""
    settings = get_settings()
    if signs_with_website_secret:
        settings.require_production_secrets()
    count = processes(settings)
    if count > 1:
        return serve_processes(factory, settings, port(settings), service, count)
    return serve(create_app(settings), settings, port(settings), service)
