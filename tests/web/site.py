"""A visitor of the website in tests: a cookie jar plus the steps every test repeats."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.org"


@dataclass
class WebClient:
    http: httpx.AsyncClient

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.http.get(path, **kwargs)  # type: ignore[arg-type]

    async def csrf(self, path: str) -> str:
        page = await self.http.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return csrf_from(page.text)

    async def submit(self, page: str, action: str, data: dict[str, str]) -> httpx.Response:
        """Posts ``data`` to ``action`` with the CSRF token of the form on ``page``."""
        token = await self.csrf(page)
        return await self.http.post(action, data={**data, "csrf_token": token})

    async def sign_up(
        self, email: str | None = None, password: str = "correct horse", name: str = "Tester"
    ) -> str:
        email = email or unique_email()
        resp = await self.submit(
            "/signup",
            "/signup",
            {"name": name, "email": email, "password": password, "password_confirm": password},
        )
        assert resp.status_code == 303, resp.text
        return email

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        return await self.submit("/login", "/login", {"email": email, "password": password})

    async def sign_out(self) -> httpx.Response:
        return await self.submit("/", "/logout", {})
