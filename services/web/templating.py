"""Jinja2 rendering with what every page needs: the user, CSRF fields, the maintenance banner.

Templates live in ``services/web/templates`` and extend ``base.html`` (blocks ``title`` and
``content``). Autoescaping is on for everything, so a name someone typed is shown as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.web.auth import current_user, resources
from services.web.csrf import csrf_field

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def _thousands(value: int | float | None) -> str:
    return "" if value is None else f"{value:,}"


def _duration(seconds: int | float | None) -> str:
    """m:ss, as the track pages show fingerprint and recording lengths."""
    if seconds is None:
        return ""
    total = round(seconds)
    return f"{total // 60}:{total % 60:02d}"


env.filters["thousands"] = _thousands
env.filters["duration"] = _duration


def mb_login_enabled(request: Request) -> bool:
    settings = resources(request).settings
    return bool(settings.mb_oauth_client_id and settings.mb_oauth_client_secret)


async def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with ``context`` plus ``user``, ``csrf_field()``, ``request``."""
    settings = resources(request).settings
    page = env.get_template(template).render(
        request=request,
        user=await current_user(request),
        csrf_field=lambda: csrf_field(request),
        maintenance=settings.website_maintenance,
        mb_login=mb_login_enabled(request),
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=headers)
