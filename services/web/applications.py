"""The user API key and the applications an account registers (keys, usage, editing).

Field checks and their messages are acoustid.org's, so people who knew the old forms see
the same words. An application is shown to its owner and to admins; to anyone else it does
not exist (404), so ids cannot be probed for other people's keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select, update
from starlette.datastructures import FormData

from libs.common.apikeys import generate_api_key
from libs.common.db import Database
from libs.common.models.app import Account, Application, StatsLookups
from services.web.auth import User, require_user, resources
from services.web.charts import line_chart
from services.web.csrf import verified_form
from services.web.templating import render

router = APIRouter(include_in_schema=False)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
FIELDS = ("name", "version", "email", "website")
MAX_FIELD = 255
CHART_DAYS = 30
AppId = Annotated[int, Path(ge=1, le=2**31 - 1)]
"""An id the ``integer`` column can hold; anything else is a 404 page (see app.py)."""


@dataclass(frozen=True)
class AppForm:
    name: str = ""
    version: str = ""
    email: str = ""
    website: str = ""

    @classmethod
    def from_form(cls, form: FormData) -> AppForm:
        values = {}
        for name in FIELDS:
            value = form.get(name)
            values[name] = value.strip() if isinstance(value, str) else ""
        return cls(**values)

    def errors(self) -> list[str]:
        errors = []
        if not self.name:
            errors.append("Missing application name")
        if not self.version:
            errors.append("Missing version number")
        if not self.email:
            errors.append("Missing email address")
        elif not EMAIL_RE.match(self.email):
            errors.append("Invalid email address")
        if self.website:
            parts = urlsplit(self.website)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                errors.append("Invalid website URL")
        if any(len(getattr(self, name)) > MAX_FIELD for name in FIELDS):
            errors.append(f"Fields can have at most {MAX_FIELD} characters")
        return errors

    def values(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "version": self.version,
            "email": self.email,
            "website": self.website or None,
        }


# /api-key


async def api_key(request: Request, user: User = Depends(require_user)) -> HTMLResponse:
    regenerated = request.query_params.get("regenerated") == "1"
    return await render(request, "api_key.html", regenerated=regenerated)


async def new_api_key(
    request: Request, user: User = Depends(require_user), form: FormData = Depends(verified_form)
) -> Response:
    """A new user key at once; the old one stops working for submissions."""
    async with resources(request).databases.session(Database.APP) as session:
        await session.execute(
            update(Account).where(Account.id == user.id).values(apikey=generate_api_key())
        )
        await session.commit()
    return RedirectResponse("/api-key?regenerated=1", status_code=303)


# Applications


async def _own_applications(request: Request, user: User) -> list[Application]:
    async with resources(request).databases.session(Database.APP) as session:
        rows = await session.scalars(
            select(Application).where(Application.account_id == user.id).order_by(Application.id)
        )
        return list(rows)


async def _visible_application(request: Request, user: User, app_id: int) -> Application:
    """The application if this user may see it (owner or admin); 404 otherwise."""
    async with resources(request).databases.session(Database.APP) as session:
        app = await session.get(Application, app_id)
    if app is None or (app.account_id != user.id and not user.is_admin):
        raise HTTPException(404, "No such application.")
    return app


async def _owned_application(request: Request, user: User, app_id: int) -> Application:
    app = await _visible_application(request, user, app_id)
    if app.account_id != user.id:
        raise HTTPException(403, "Only the owner of an application can change it.")
    return app


async def my_applications(request: Request, user: User = Depends(require_user)) -> HTMLResponse:
    applications = await _own_applications(request, user)
    return await render(request, "my_applications.html", applications=applications)


async def new_application_form(
    request: Request, user: User = Depends(require_user)
) -> HTMLResponse:
    return await render(request, "application_form.html", form=AppForm(), errors=[], app=None)


async def new_application(
    request: Request, user: User = Depends(require_user), form: FormData = Depends(verified_form)
) -> Response:
    fields = AppForm.from_form(form)
    errors = fields.errors()
    if errors:
        return await render(
            request, "application_form.html", 400, form=fields, errors=errors, app=None
        )
    async with resources(request).databases.session(Database.APP) as session:
        app = Application(account_id=user.id, apikey=generate_api_key(), **fields.values())
        session.add(app)
        await session.commit()
    return RedirectResponse(f"/application/{app.id}", status_code=303)


@dataclass(frozen=True)
class Usage:
    label: str
    hits: int
    misses: int

    @property
    def total(self) -> int:
        return self.hits + self.misses


async def _daily_usage(request: Request, app_id: int, today: date) -> list[Usage]:
    first = today - timedelta(days=CHART_DAYS - 1)
    rows = await resources(request).databases.fetch(
        Database.APP,
        select(
            StatsLookups.date,
            func.sum(StatsLookups.count_hits),
            func.sum(StatsLookups.count_nohits),
        )
        .where(StatsLookups.application_id == app_id, StatsLookups.date >= first)
        .group_by(StatsLookups.date),
    )
    by_day = {day: (int(hits), int(misses)) for day, hits, misses in rows}
    days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    return [Usage(day.isoformat(), *by_day.get(day, (0, 0))) for day in days]


async def _monthly_usage(request: Request, app_id: int) -> list[Usage]:
    month = func.date_trunc("month", StatsLookups.date)
    rows = await resources(request).databases.fetch(
        Database.APP,
        select(month, func.sum(StatsLookups.count_hits), func.sum(StatsLookups.count_nohits))
        .where(StatsLookups.application_id == app_id)
        .group_by(month)
        .order_by(month.desc()),
    )
    return [Usage(start.strftime("%Y-%m"), int(hits), int(misses)) for start, hits, misses in rows]


async def application(
    request: Request, app_id: AppId, user: User = Depends(require_user)
) -> HTMLResponse:
    app = await _visible_application(request, user, app_id)
    daily = await _daily_usage(request, app.id, datetime.now(UTC).date())
    chart = line_chart(
        "",
        [usage.label[5:] for usage in daily],
        [
            ("All", [usage.total for usage in daily]),
            ("Hits", [usage.hits for usage in daily]),
            ("Misses", [usage.misses for usage in daily]),
        ],
    )
    return await render(
        request,
        "application.html",
        app=app,
        owner=app.account_id == user.id,
        chart=chart,
        daily=daily,
        monthly=await _monthly_usage(request, app.id),
    )


async def edit_application_form(
    request: Request, app_id: AppId, user: User = Depends(require_user)
) -> HTMLResponse:
    app = await _owned_application(request, user, app_id)
    fields = AppForm(app.name, app.version, app.email or "", app.website or "")
    return await render(request, "application_form.html", form=fields, errors=[], app=app)


async def edit_application(
    request: Request,
    app_id: AppId,
    user: User = Depends(require_user),
    form: FormData = Depends(verified_form),
) -> Response:
    app = await _owned_application(request, user, app_id)
    fields = AppForm.from_form(form)
    errors = fields.errors()
    if errors:
        return await render(
            request, "application_form.html", 400, form=fields, errors=errors, app=app
        )
    await _update(request, app.id, **fields.values())
    return RedirectResponse(f"/application/{app.id}", status_code=303)


async def _update(request: Request, app_id: int, **values: object) -> None:
    async with resources(request).databases.session(Database.APP) as session:
        await session.execute(update(Application).where(Application.id == app_id).values(values))
        await session.commit()


async def set_active(
    request: Request,
    app_id: AppId,
    user: User = Depends(require_user),
    form: FormData = Depends(verified_form),
) -> Response:
    """Deactivating stops the key from working at the API (within its key cache's TTL)."""
    app = await _owned_application(request, user, app_id)
    await _update(request, app.id, active=form.get("active") == "1")
    return RedirectResponse(f"/application/{app.id}", status_code=303)


router.add_api_route("/api-key", api_key, methods=["GET"])
router.add_api_route("/new-api-key", new_api_key, methods=["POST"])
router.add_api_route("/my-applications", my_applications, methods=["GET"])
router.add_api_route("/new-application", new_application_form, methods=["GET"])
router.add_api_route("/new-application", new_application, methods=["POST"])
router.add_api_route("/application/{app_id}", application, methods=["GET"])
router.add_api_route("/application/{app_id}/edit", edit_application_form, methods=["GET"])
router.add_api_route("/application/{app_id}/edit", edit_application, methods=["POST"])
router.add_api_route("/application/{app_id}/active", set_active, methods=["POST"])
