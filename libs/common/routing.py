"""A service's own routing table for the paths it answers with plain handlers.

A :class:`Route` is the one registration of its path: :class:`Dispatcher` answers it and
:func:`document` puts it in ``/openapi.json``; FastAPI never sees it as a route. That is
deliberate: FastAPI's router, dependency solving and exception layers were a tenth of the
API's CPU per lookup and a third of the index's per search. A handler therefore takes the
request and returns the response, parses its own input and renders its own errors;
FastAPI dependencies and exception handlers do not apply to it. Middleware does: the
dispatcher sits inside every middleware the service adds (request ids, metrics, transport
rules), and a path or method missing from the table goes on to FastAPI's routes.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]
_PARAMETER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")


@dataclass(frozen=True)
class Route:
    path: str
    """Literal (``/v2/lookup``) or with ``{name}`` segments (``/{index}/_search``), which the
    handler reads from ``request.path_params``; it also labels the request's metrics."""
    handler: Handler
    methods: frozenset[str] | None = None
    """None: any method."""
    operations: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """OpenAPI operation objects by lower-case method; none: left out of the schema."""

    def allows(self, method: str) -> bool:
        return self.methods is None or method in self.methods


def _pattern(path: str) -> re.Pattern[str]:
    literal = _PARAMETER.split(path)
    parts = [re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(literal)]
    return re.compile("".join(parts))


class Dispatcher:
    """ASGI middleware: a request whose path and method are in the table goes to its handler,
    anything else to the app. Literal paths cost one dict lookup; templates are tried in
    table order after them."""

    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app
        self.literal: dict[str, list[Route]] = {}
        self.templates: list[tuple[re.Pattern[str], Route]] = []
        for route in routes:
            if _PARAMETER.search(route.path):
                self.templates.append((_pattern(route.path), route))
            else:
                self.literal.setdefault(route.path, []).append(route)

    def match(self, path: str, method: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.literal.get(path, ()):
            if route.allows(method):
                return route, {}
        for pattern, route in self.templates:
            found = pattern.fullmatch(path)
            if found is not None and route.allows(method):
                return route, found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.match(scope["path"], scope["method"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        route, params = found
        scope["route"] = route
        scope["path_params"] = params
        response = await route.handler(Request(scope, receive))
        await response(scope, receive, send)


def path_parameters(path: str) -> list[dict[str, Any]]:
    """The OpenAPI description of a template's ``{name}`` segments (all strings)."""
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PARAMETER.findall(path)
    ]


def document(app: FastAPI, routes: Iterable[Route]) -> None:
    """``/openapi.json`` lists ``routes`` beside FastAPI's own (FastAPI's "extending
    OpenAPI" hook: ``app.openapi`` replaced, the schema built once)."""
    documented = [route for route in routes if route.operations]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            paths = schema.setdefault("paths", {})
            for route in documented:
                paths.setdefault(route.path, {}).update(route.operations)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
