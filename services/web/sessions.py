"""The website's session: a signed cookie holding a small dict, read as ``request.session``.

Starlette's own ``SessionMiddleware`` fixes the ``Secure`` flag when the app is built; here it
follows each request's scheme, so the same process serves http on a developer's machine and
sets ``Secure`` behind an https proxy (``X-Forwarded-Proto`` from a trusted proxy).
The cookie is only written when a handler changed the session, so the pages most visitors
see (home, track, stats) send no ``Set-Cookie`` and stay cacheable.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.common.client_address import ClientAddress
from services.web.proxy import is_https

COOKIE_NAME = "acoustid_session"
SALT = "acoustid-web-session"


class SessionMiddleware:
    def __init__(
        self, app: ASGIApp, secret: str, max_age_days: int, addresses: ClientAddress
    ) -> None:
        self.app = app
        self.addresses = addresses
        self.serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self.max_age = max_age_days * 86400

    def _load(self, scope: Scope) -> dict[str, Any]:
        for name, value in scope["headers"]:
            if name != b"cookie":
                continue
            morsel = SimpleCookie(value.decode("latin-1")).get(COOKIE_NAME)
            if morsel is None:
                continue
            try:
                data = self.serializer.loads(morsel.value, max_age=self.max_age)
            except BadSignature:
                return {}
            return data if isinstance(data, dict) else {}
        return {}

    def _cookie(self, session: dict[str, Any], secure: bool) -> str:
        flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
        if not session:
            return f"{COOKIE_NAME}=; Max-Age=0{flags}"
        value = self.serializer.dumps(session)
        return f"{COOKIE_NAME}={value}; Max-Age={self.max_age}{flags}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self._load(scope)
        original = dict(session)
        scope["session"] = session
        had_cookie = bool(original)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = scope["session"]
                if current != original and (current or had_cookie):
                    headers = MutableHeaders(scope=message)
                    secure = is_https(scope, self.addresses)
                    headers.append("Set-Cookie", self._cookie(current, secure))
            await send(message)

        await self.app(scope, receive, send_wrapper)
