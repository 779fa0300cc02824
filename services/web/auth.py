"""Who is signed in, and the dependencies that let a route demand a user, moderator or admin.

The session holds only the account id; the account is read once per request (one indexed
select) so a demotion or a deleted account takes effect at the next page, not when the
cookie expires.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from libs.common.db import Database
from libs.common.models.app import Account
from libs.common.service import Resources

SESSION_ACCOUNT = "account_id"


@dataclass(frozen=True)
class User:
    id: int
    name: str
    apikey: str
    email: str | None
    mbuser: str | None
    is_admin: bool
    is_moderator: bool

    @property
    def can_moderate(self) -> bool:
        """Moderators, admins and, as on acoustid.org, anyone signed in with MusicBrainz."""
        return self.is_admin or self.is_moderator or self.mbuser is not None


class SignInRequired(Exception):
    """Raised by :func:`require_user`; the app answers it with a redirect to ``/login``."""

    def __init__(self, return_url: str) -> None:
        self.return_url = return_url

    @property
    def location(self) -> str:
        return f"/login?return_url={quote(self.return_url, safe='')}"


def resources(request: Request) -> Resources:
    res: Resources = request.app.state.resources
    return res


_USER_COLUMNS = (
    Account.id,
    Account.name,
    Account.apikey,
    Account.email,
    Account.mbuser,
    Account.is_admin,
    Account.is_moderator,
)


async def load_user(res: Resources, account_id: int) -> User | None:
    rows = await res.databases.fetch(
        Database.APP, select(*_USER_COLUMNS).where(Account.id == account_id)
    )
    return User(*rows[0]) if rows else None


async def current_user(request: Request) -> User | None:
    """The signed-in user or None; cached on the request (a FastAPI dependency too)."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    user = None
    account_id = request.session.get(SESSION_ACCOUNT)
    if isinstance(account_id, int):
        user = await load_user(resources(request), account_id)
        if user is None:
            request.session.clear()
    request.state.user = user
    return user


def sign_in(request: Request, account_id: int) -> None:
    """A fresh session for the account: nothing from before sign-in carries over."""
    request.session.clear()
    request.session[SESSION_ACCOUNT] = account_id
    with contextlib.suppress(AttributeError, KeyError):
        del request.state.user


def sign_out(request: Request) -> None:
    request.session.clear()
    request.state.user = None


async def require_user(request: Request, user: User | None = Depends(current_user)) -> User:
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return user


async def require_moderator(user: User = Depends(require_user)) -> User:
    if not user.can_moderate:
        raise HTTPException(403, "This page is for moderators.")
    return user


async def require_admin(user: User | None = Depends(current_user)) -> User:
    """Admin pages do not admit they exist to anyone else: 404, as on acoustid.org."""
    if user is None or not user.is_admin:
        raise HTTPException(404, "Page not found")
    return user


def safe_return_url(value: str | None) -> str:
    """A path on this site to go back to after signing in; anything else becomes ``/``.

    Only a single leading slash is allowed: ``//evil.example`` and ``/\\evil.example`` are
    taken by browsers as another host, and any scheme or host makes an open redirect.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return "/"
    return value
