"""The content pages of acoustid.org (§6): home, about, documentation, licence and friends.

Most are a template and nothing else. ``/webservice`` is generated from the API's own
parameter and error tables (``libs.common.api_spec``, ``libs.common.errors``), so the
documentation cannot drift from what the service accepts, and shows today's demo key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from libs.chromaprint_cy import fpcalc
from libs.common.api_spec import PUBLIC
from libs.common.apikeys import demo_client_key
from libs.common.errors import error_table
from services.web.auth import resources
from services.web.templating import render

router = APIRouter(include_in_schema=False)

STATIC_PAGES = {
    "/": "home",
    "/about": "about",
    "/contact": "contact",
    "/database": "database",
    "/docs": "docs",
    "/faq": "faq",
    "/license": "license",
    "/server": "server",
}


def _static_page(name: str) -> Callable[[Request], Awaitable[HTMLResponse]]:
    async def page(request: Request) -> HTMLResponse:
        return await render(request, f"pages/{name}.html", api_url=_api_url(request))

    page.__name__ = f"page_{name}"
    return page


for _path, _name in STATIC_PAGES.items():
    router.add_api_route(_path, _static_page(_name), methods=["GET"], response_class=HTMLResponse)


def _example_text(example: Any) -> str | None:
    if example is None:
        return None
    return ", ".join(map(str, example)) if isinstance(example, list) else str(example)


def _api_url(request: Request) -> str:
    return resources(request).settings.website_api_url.rstrip("/")


def _parameters(operation: dict[str, Any]) -> list[dict[str, Any]]:
    """The parameters of one operation as the page lists them (type, required, example)."""
    rows = []
    for param in operation["parameters"]:
        schema = param["schema"]
        kind = schema.get("type", "")
        if kind == "array":
            kind = f"{schema['items'].get('type', '')}, repeatable"
        elif "enum" in schema:
            kind = " | ".join(schema["enum"])
        rows.append(
            {
                "name": param["name"],
                "type": kind,
                "required": param["required"],
                "description": param["description"],
                "example": _example_text(param.get("example")),
            }
        )
    return rows


def _example_query(path: str, operation: dict[str, Any], demo_key: str) -> str:
    """A GET URL with every required parameter (and a few useful ones) filled in."""
    parts = []
    for param in operation["parameters"]:
        if not (param["required"] or param["name"] in ("meta",)):
            continue
        if param["name"] == "client":
            value = demo_key
        else:
            example = param.get("example")
            value = example[0] if isinstance(example, list) else example
        if value is not None:
            parts.append(f"{param['name']}={value}")
    return path + ("?" + "&".join(parts) if parts else "")


async def webservice(request: Request) -> HTMLResponse:
    settings = resources(request).settings
    demo_key = demo_client_key(settings.website_secret, datetime.now(UTC).date())
    base = _api_url(request)
    endpoints = [
        {
            "path": path,
            "anchor": path.strip("/").replace("/", "-"),
            "description": operation["description"],
            "parameters": _parameters(operation),
            "example": base + _example_query(path, operation, demo_key),
        }
        for path, operation in PUBLIC
    ]
    return await render(
        request,
        "pages/webservice.html",
        demo_key=demo_key,
        api_url=base,
        endpoints=endpoints,
        errors=error_table(),
    )


async def chromaprint(request: Request) -> HTMLResponse:
    return await render(
        request,
        "pages/chromaprint.html",
        api_url=_api_url(request),
        usage=fpcalc.USAGE,
        fpcalc_version=fpcalc.VERSION,
    )


async def favicon() -> RedirectResponse:
    return RedirectResponse("/static/logo.svg", status_code=301)


router.add_api_route("/webservice", webservice, methods=["GET"], response_class=HTMLResponse)
router.add_api_route("/chromaprint", chromaprint, methods=["GET"], response_class=HTMLResponse)
router.add_api_route("/favicon.ico", favicon, methods=["GET"])
