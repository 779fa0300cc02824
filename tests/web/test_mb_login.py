"""MusicBrainz sign-in against a local stand-in for musicbrainz.org's OAuth2 endpoints.

The stand-in is a real HTTP server on a free port: the website exchanges the code and asks
for the user over the network exactly as it would with MusicBrainz.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from fastapi import FastAPI, Form, Header, HTTPException
from sqlalchemy import select

from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.settings import Settings
from tests.conftest import free_port
from tests.web.conftest import open_site
from tests.web.site import WebClient

CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"


def fake_musicbrainz() -> FastAPI:
    app = FastAPI()
    codes = {"good-code": "mb-token-1"}

    @app.post("/oauth2/token")
    async def token(
        grant_type: str = Form(),
        code: str = Form(),
        client_id: str = Form(),
        client_secret: str = Form(),
        redirect_uri: str = Form(),
    ) -> dict[str, str]:
        if (client_id, client_secret, grant_type) != (
            CLIENT_ID,
            CLIENT_SECRET,
            "authorization_code",
        ):
            raise HTTPException(401)
        if code not in codes or not redirect_uri.endswith("/login/musicbrainz"):
            raise HTTPException(400, "invalid_grant")
        return {"access_token": codes[code], "token_type": "Bearer"}

    @app.get("/oauth2/userinfo")
    async def userinfo(authorization: str = Header()) -> dict[str, str]:
        if authorization != "Bearer mb-token-1":
            raise HTTPException(401)
        return {"sub": "mb_tester", "metabrainz_user_id": "42"}

    return app


@pytest.fixture(scope="module")
def musicbrainz() -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(fake_musicbrainz(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def mb_settings(web_settings: Settings, musicbrainz: str) -> Settings:
    return web_settings.model_copy(
        update={
            "mb_oauth_client_id": CLIENT_ID,
            "mb_oauth_client_secret": CLIENT_SECRET,
            "musicbrainz_url": musicbrainz,
        }
    )


async def start(site: WebClient, musicbrainz: str, return_url: str = "/my-applications") -> str:
    """Follows the sign-in button to MusicBrainz; returns the state it was given."""
    page = await site.get("/login")
    assert "Sign in with MusicBrainz" in page.text
    resp = await site.get(f"/login/musicbrainz?return_url={return_url}")
    assert resp.status_code == 303
    target = urlsplit(resp.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{musicbrainz}/oauth2/authorize"
    query = parse_qs(target.query)
    assert query["client_id"] == [CLIENT_ID] and query["scope"] == ["profile"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == ["http://testserver/login/musicbrainz"]
    return query["state"][0]


async def test_musicbrainz_sign_in_creates_and_reuses_the_account(
    mb_settings: Settings, musicbrainz: str
) -> None:
    async with open_site(mb_settings) as (_app, site):
        state = await start(site, musicbrainz)
        done = await site.get(f"/login/musicbrainz?code=good-code&state={state}")
        assert done.status_code == 303 and done.headers["location"] == "/my-applications"
        assert (await site.get("/my-applications")).status_code == 200
        # The same state a second time is refused: it was spent.
        await site.sign_out()
        replay = await site.get(f"/login/musicbrainz?code=good-code&state={state}")
        assert replay.status_code == 303 and replay.headers["location"].startswith("/login?error=")
        assert "already used" in (await site.get(replay.headers["location"])).text
        assert (await site.get("/my-applications")).status_code == 303
        # Signing in again finds the same account.
        state = await start(site, musicbrainz)
        await site.get(f"/login/musicbrainz?code=good-code&state={state}")
    databases = Databases(mb_settings)
    try:
        rows = await databases.fetch(
            Database.APP, select(Account.name).where(Account.mbuser == "mb_tester")
        )
    finally:
        await databases.dispose()
    assert [row[0] for row in rows] == ["mb_tester"]


async def test_forged_state_or_bad_code_signs_nobody_in(
    mb_settings: Settings, musicbrainz: str
) -> None:
    async with open_site(mb_settings) as (_app, site):
        state = await start(site, musicbrainz)
        forged = await site.get(f"/login/musicbrainz?code=good-code&state={state[:-2]}xx")
        assert forged.headers["location"].startswith("/login?error=")
        state = await start(site, musicbrainz)
        bad = await site.get(f"/login/musicbrainz?code=bad-code&state={state}")
        assert bad.headers["location"].startswith("/login?error=")
        assert "MusicBrainz did not confirm" in (await site.get(bad.headers["location"])).text
        cancelled = await site.get("/login/musicbrainz?error=access_denied")
        assert cancelled.headers["location"].startswith("/login?error=")
        assert (await site.get("/api-key")).status_code == 303
    # A state made in one browser does not work in another (its token is in the first's session).
    async with open_site(mb_settings) as (_app, first), open_site(mb_settings) as (_b, second):
        state = await start(first, musicbrainz)
        other = await second.get(f"/login/musicbrainz?code=good-code&state={state}")
        assert other.headers["location"].startswith("/login?error=")
        assert (await second.get("/api-key")).status_code == 303


async def test_return_url_through_musicbrainz_stays_on_the_site(
    mb_settings: Settings, musicbrainz: str
) -> None:
    async with open_site(mb_settings) as (_app, site):
        state = await start(site, musicbrainz, return_url="//evil.example/")
        done = await site.get(f"/login/musicbrainz?code=good-code&state={state}")
        assert done.status_code == 303 and done.headers["location"] == "/"


async def test_the_login_page_shows_only_its_own_error_messages(site: WebClient) -> None:
    page = (await site.get("/login?error=Call+us+at+555")).text
    assert "Call us" not in page and 'role="alert"' not in page
    assert "was cancelled" in (await site.get("/login?error=cancelled")).text
