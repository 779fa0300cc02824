"""The website (accounts, API keys, applications, track pages, statistics)."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from libs.common.client_address import ClientAddress
from libs.common.db import Database
from libs.common.service import build_resources, create_service_app
from libs.common.settings import Settings
from services.web import (
    accounts,
    admin,
    applications,
    browse,
    fingerprint_pages,
    identify_page,
    mb_login,
    moderation,
    pages,
    statistics,
)
from services.web.auth import SignInRequired
from services.web.sessions import SessionMiddleware
from services.web.templating import render

DATABASES = (Database.APP, Database.FINGERPRINT)
STATIC = Path(__file__).parent / "static"

_HEADINGS = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Too large",
    422: "Bad request",
}


async def _error_page(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 400
    if isinstance(exc, RequestValidationError) and all(
        error["loc"][0] == "path" for error in exc.errors()
    ):
        status = 404  # /application/abc names no page, like any unknown path
    heading = _HEADINGS.get(status, "Error")
    detail = exc.detail if isinstance(exc, HTTPException) else None
    generic = (heading, HTTPStatus(status).phrase) if status in _HEADINGS else (heading,)
    message = detail if isinstance(detail, str) and detail not in generic else None
    if message is None:
        message = "The page you asked for does not exist." if status == 404 else heading + "."
    headers = getattr(exc, "headers", None)
    return await render(request, "error.html", status, headers, heading=heading, message=message)


async def _sign_in_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(exc.location, status_code=303)


def create_app(settings: Settings) -> FastAPI:
    resources = build_resources(
        settings, "web", DATABASES, uses_redis=True, uses_nats=False, read_replicas=True
    )
    app = create_service_app(
        resources,
        title="AcoustID website",
        description="Accounts, API keys, applications, track pages and statistics.",
    )
    app.state.client_address = ClientAddress(settings.trusted_proxies)
    app.add_middleware(
        SessionMiddleware,
        secret=settings.website_secret,
        max_age_days=settings.website_session_days,
        addresses=app.state.client_address,
    )
    app.add_exception_handler(HTTPException, _error_page)
    app.add_exception_handler(RequestValidationError, _error_page)
    app.add_exception_handler(SignInRequired, _sign_in_redirect)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(accounts.router)
    app.include_router(mb_login.router)
    app.include_router(applications.router)
    app.include_router(admin.router)
    # web-browse's routers (track pages, upload, moderation, stats) are included below.
    app.include_router(browse.router)
    app.include_router(fingerprint_pages.router)
    app.include_router(identify_page.router)
    app.include_router(moderation.router)
    app.include_router(statistics.router)
    return app
