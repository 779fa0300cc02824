"""CSRF protection for every form: a random token kept in the session, echoed by the form.

A cross-site page can make a browser post to us with our cookie, but cannot read the token
out of our pages, so a post whose ``csrf_token`` field does not match the session's is
refused. The token is made the first time a page renders a form, so visitors who never see
one never get a cookie.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request
from markupsafe import Markup
from starlette.datastructures import FormData

FIELD = "csrf_token"
SESSION_KEY = "csrf"
FAILURE = "The form had expired or did not come from this site. Please try again."


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


def csrf_field(request: Request) -> Markup:
    """The hidden input a template puts in each ``<form method="post">``."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, csrf_token(request))


def check_csrf(request: Request, form: FormData) -> None:
    expected = request.session.get(SESSION_KEY)
    sent = form.get(FIELD)
    if not isinstance(expected, str) or not isinstance(sent, str):
        raise HTTPException(403, FAILURE)
    if not hmac.compare_digest(expected.encode(), sent.encode()):
        raise HTTPException(403, FAILURE)


async def verified_form(request: Request) -> FormData:
    """The posted form once its CSRF token checks out (a FastAPI dependency); else 403."""
    form = await request.form()
    check_csrf(request, form)
    return form
