"""Signing up, in and out: email and password, or MusicBrainz when it is configured."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from libs.common.db import Database
from libs.common.models.app import Account
from libs.common.passwords import password_matches
from services.web import signin_limit
from services.web.account_store import (
    AccountError,
    check_new_account,
    create_account,
    find_by_email,
    normalize_email,
)
from services.web.auth import (
    User,
    current_user,
    resources,
    safe_return_url,
    sign_in,
    sign_out,
)
from services.web.csrf import verified_form
from services.web.proxy import client_ip
from services.web.templating import render

router = APIRouter(include_in_schema=False)

WRONG_PASSWORD = "Wrong email address or password."
LOGIN_ERRORS = {
    "invalid": "The sign-in request was not valid or has expired.",
    "used": "The sign-in request was already used or started in another browser.",
    "musicbrainz": "MusicBrainz did not confirm the sign-in. Please try again.",
    "cancelled": "MusicBrainz sign-in was cancelled.",
}
"""Messages ``/login?error=<code>`` shows: codes, so a link cannot put its own words on our page."""


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _login_page(
    request: Request, status: int = 200, headers: dict[str, str] | None = None, **context: object
) -> HTMLResponse:
    context.setdefault("email", "")
    context.setdefault("errors", [])
    return_url = safe_return_url(str(context.pop("return_url", "")))
    return await render(request, "login.html", status, headers, return_url=return_url, **context)


async def login_form(
    request: Request,
    return_url: str = "",
    error: str = "",
    user: User | None = Depends(current_user),
) -> Response:
    if user is not None:
        return RedirectResponse(safe_return_url(return_url), status_code=303)
    errors = [LOGIN_ERRORS[error]] if error in LOGIN_ERRORS else []
    return await _login_page(request, return_url=return_url, errors=errors)


async def mark_signed_in(request: Request, account_id: int) -> None:
    async with resources(request).databases.session(Database.APP) as session:
        await session.execute(
            update(Account).where(Account.id == account_id).values(lastlogin=func.now())
        )
        await session.commit()
    sign_in(request, account_id)


async def login(request: Request, form: FormData = Depends(verified_form)) -> Response:
    res = resources(request)
    assert res.redis is not None
    email = normalize_email(_text(form, "email"))
    password = _text(form, "password")
    return_url = _text(form, "return_url")
    ip = client_ip(request)
    wait = await signin_limit.retry_after(res.redis, res.settings, email, ip)
    if wait is not None:
        message = f"Too many failed sign-in attempts. Try again in {(wait + 59) // 60} minutes."
        return await _login_page(
            request,
            429,
            {"Retry-After": str(wait)},
            email=email,
            return_url=return_url,
            errors=[message],
        )
    async with res.databases.session(Database.APP) as session:
        account = await find_by_email(session, email) if email else None
    password_hash = account.password_hash if account is not None else None
    if account is None or not await run_in_threadpool(password_matches, password_hash, password):
        await signin_limit.record_failure(res.redis, res.settings, email, ip)
        return await _login_page(
            request, 400, email=email, return_url=return_url, errors=[WRONG_PASSWORD]
        )
    await signin_limit.clear_account(res.redis, res.settings, email)
    await mark_signed_in(request, account.id)
    return RedirectResponse(safe_return_url(return_url), status_code=303)


async def signup_form(
    request: Request, return_url: str = "", user: User | None = Depends(current_user)
) -> Response:
    if user is not None:
        return RedirectResponse("/api-key", status_code=303)
    return await render(
        request, "signup.html", name="", email="", errors=[], return_url=safe_return_url(return_url)
    )


async def signup(request: Request, form: FormData = Depends(verified_form)) -> Response:
    name, email = _text(form, "name"), _text(form, "email")
    password, confirm = _text(form, "password"), _text(form, "password_confirm")
    return_url = safe_return_url(_text(form, "return_url"))
    errors = check_new_account(name, email, password)
    if not errors and password != confirm:
        errors.append("The two passwords differ")
    if not errors:
        try:
            async with resources(request).databases.session(Database.APP) as session:
                account = await create_account(session, name, email, password, client_ip(request))
        except (AccountError, IntegrityError) as exc:
            taken = isinstance(exc, IntegrityError)
            errors.append(
                "An account with this email address already exists" if taken else str(exc)
            )
        else:
            sign_in(request, account.id)
            return RedirectResponse(return_url if return_url != "/" else "/api-key", 303)
    return await render(
        request, "signup.html", 400, name=name, email=email, errors=errors, return_url=return_url
    )


async def logout(request: Request, form: FormData = Depends(verified_form)) -> Response:
    sign_out(request)
    return RedirectResponse("/", status_code=303)


router.add_api_route("/login", login_form, methods=["GET"])
router.add_api_route("/login", login, methods=["POST"])
router.add_api_route("/signup", signup_form, methods=["GET"])
router.add_api_route("/signup", signup, methods=["POST"])
router.add_api_route("/logout", logout, methods=["POST"])
