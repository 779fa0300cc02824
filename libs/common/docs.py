"""``/docs`` (Swagger UI) and ``/redoc`` served with their scripts from the service itself.

FastAPI's defaults load Swagger UI and ReDoc from a CDN, so on a machine without internet the
pages stay blank. The assets come from the ``fastapi-offline`` package (a pinned copy of the
swagger-ui and redoc distribution files) and are served under ``/docs/assets/``. ReDoc's
script also names a logo on its CDN; it is pointed at the local favicon instead, so the page
makes no request outside the service.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Response
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSETS = files("fastapi_offline") / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}


REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _asset(name: str) -> bytes:
    body = (ASSETS / name).read_bytes()
    return body.replace(REDOC_CDN_LOGO, b"/docs/assets/favicon.png")


def docs_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url="/docs/assets/redoc.standalone.js",
            redoc_favicon_url="/docs/assets/favicon.png",
            with_google_fonts=False,
        )

    @router.get("/docs/assets/{name}")
    async def asset(name: str) -> Response:
        media_type = ASSET_TYPES.get(name)
        if media_type is None:
            raise HTTPException(404)
        return Response(
            _asset(name), media_type=media_type, headers={"Cache-Control": "max-age=86400"}
        )

    return router
