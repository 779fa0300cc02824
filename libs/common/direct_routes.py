"""Hot paths answered without FastAPI's per-request routing.

A route's handler is called straight from the innermost middleware, so the service's own
middleware (request ids, metrics, transport rules) still applies; what is skipped is
FastAPI's router, dependency solving and exception layers, which profiles put at a tenth
of the API's CPU per lookup and a third of the index's per search. Only handlers that
parse their own input and render their own errors belong here. The routes stay
registered with FastAPI too, for the OpenAPI schema and every other path and method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class DirectRoute:
    handler: Handler
    route: BaseRoute
    """The registered route, whose path template labels the request's metrics."""
    methods: frozenset[str] | None = None
    """None: any method."""


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes: dict[str, DirectRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if target is None or (target.methods is not None and scope["method"] not in target.methods):
            await self.app(scope, receive, send)
            return
        scope["route"] = target.route
        response = await target.handler(Request(scope, receive))
        await response(scope, receive, send)


def registered(routes: Iterable[BaseRoute], path: str) -> BaseRoute:
    """The route for ``path`` (a template such as ``/{index}/_search``) among ``routes``: an
    app's own, or a router's (an app lists an included router as one entry)."""
    for route in routes:
        if getattr(route, "path", None) == path:
            return route
    raise LookupError(f"no route {path}")


def install(app: FastAPI, routes: dict[str, DirectRoute]) -> None:
    """Innermost middleware: after every ``add_middleware`` the service makes."""
    app.user_middleware.append(Middleware(DirectRoutes, routes=routes))
