"""Sign-in with MusicBrainz: the OAuth2 authorization-code flow, as acoustid.org runs it.

The ``state`` sent to MusicBrainz is signed and carries the return URL and a random token;
the same token waits in the session and is spent on the first callback that shows it, so a
callback replayed, forged or started in another browser is refused before the code is
exchanged. An account is found (or made) by its MusicBrainz user name (``mbuser``).
The route exists only when a client id and secret are configured.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from libs.common.apikeys import generate_api_key
from libs.common.db import Database
from libs.common.models.app import Account
from libs.common.settings import Settings
from services.web.accounts import mark_signed_in
from services.web.auth import resources, safe_return_url
from services.web.proxy import client_ip
from services.web.templating import mb_login_enabled

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

SESSION_TOKEN = "mb_login_token"
STATE_SALT = "acoustid-mb-login"
STATE_MAX_AGE = 600
HTTP_TIMEOUT = 10.0


class LoginFailed(Exception):
    """Carries a key of ``LOGIN_ERRORS``, shown on the sign-in page; details go to the log."""


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.website_secret, salt=STATE_SALT)


def _failed(code: str) -> RedirectResponse:
    return RedirectResponse(f"/login?error={code}", status_code=303)


def _start(request: Request, settings: Settings, return_url: str) -> RedirectResponse:
    token = secrets.token_urlsafe(24)
    request.session[SESSION_TOKEN] = token
    state = _serializer(settings).dumps({"return_url": safe_return_url(return_url), "token": token})
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.mb_oauth_client_id,
            "redirect_uri": str(request.url_for("login_musicbrainz")),
            "scope": "profile",
            "state": state,
        }
    )
    return RedirectResponse(f"{settings.musicbrainz_url.rstrip('/')}/oauth2/authorize?{query}", 303)


def _check_state(request: Request, settings: Settings, state: str) -> str:
    """The return URL of a genuine, unspent state; the session's token is spent either way."""
    expected = request.session.pop(SESSION_TOKEN, None)
    try:
        data = _serializer(settings).loads(state, max_age=STATE_MAX_AGE)
    except BadSignature as exc:
        raise LoginFailed("invalid") from exc
    token = data.get("token") if isinstance(data, dict) else None
    if not isinstance(expected, str) or not isinstance(token, str):
        raise LoginFailed("used")
    if not hmac.compare_digest(expected.encode(), token.encode()):
        raise LoginFailed("used")
    return safe_return_url(data.get("return_url"))


async def _musicbrainz_user(request: Request, settings: Settings, code: str) -> str:
    base = settings.musicbrainz_url.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
            token = await client.post(
                f"{base}/oauth2/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "client_id": settings.mb_oauth_client_id,
                    "client_secret": settings.mb_oauth_client_secret,
                    "redirect_uri": str(request.url_for("login_musicbrainz")),
                },
            )
            token.raise_for_status()
            access_token = token.json()["access_token"]
            info = await client.get(
                f"{base}/oauth2/userinfo", headers={"Authorization": f"Bearer {access_token}"}
            )
            info.raise_for_status()
            name = info.json()["sub"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("MusicBrainz sign-in failed: %r", exc)
        raise LoginFailed("musicbrainz") from exc
    if not isinstance(name, str) or not name:
        raise LoginFailed("musicbrainz")
    return name


async def _account_for(request: Request, mbuser: str) -> int:
    async with resources(request).databases.session(Database.APP) as session:
        account_id = await session.scalar(select(Account.id).where(Account.mbuser == mbuser))
        if account_id is None:
            account = Account(
                name=mbuser,
                mbuser=mbuser,
                apikey=generate_api_key(),
                anonymous=False,
                created_from=client_ip(request),
            )
            session.add(account)
            await session.commit()
            account_id = account.id
        return int(account_id)


async def login_musicbrainz(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    return_url: str = "",
) -> RedirectResponse:
    if not mb_login_enabled(request):
        raise HTTPException(404, "MusicBrainz sign-in is not configured on this site.")
    settings = resources(request).settings
    if error:
        request.session.pop(SESSION_TOKEN, None)
        return _failed("cancelled")
    if code is None or state is None:
        return _start(request, settings, return_url)
    try:
        target = _check_state(request, settings, state)
        mbuser = await _musicbrainz_user(request, settings, code)
    except LoginFailed as exc:
        return _failed(str(exc))
    await mark_signed_in(request, await _account_for(request, mbuser))
    return RedirectResponse(target, status_code=303)


router.add_api_route(
    "/login/musicbrainz", login_musicbrainz, methods=["GET"], name="login_musicbrainz"
)
