"""Sign-up, sign-in and sign-out with email and password, sessions, CSRF, the rate limit."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from libs.common.apikeys import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_account
from libs.common.db import Database, Databases
from libs.common.models.app import Account
from libs.common.settings import Settings
from tests.web.conftest import open_site
from tests.web.site import WebClient, unique_email

PASSWORD = "correct horse"


async def account_row(settings: Settings, email: str) -> Account | None:
    databases = Databases(settings)
    try:
        async with databases.session(Database.APP) as session:
            row: Account | None = await session.scalar(
                select(Account).where(Account.email == email)
            )
            return row
    finally:
        await databases.dispose()


async def test_sign_up_creates_the_account_and_shows_its_key(
    site: WebClient, web_settings: Settings
) -> None:
    email = unique_email()
    resp = await site.submit(
        "/signup",
        "/signup",
        {"name": "Ann", "email": email.upper(), "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/api-key"
    row = await account_row(web_settings, email)
    assert row is not None and row.name == "Ann" and row.password_hash
    assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    page = await site.get("/api-key")
    assert page.status_code == 200
    assert f'<span class="key" id="user-api-key">{row.apikey}</span>' in page.text
    assert "Signed in as Ann." in page.text


async def test_sign_up_errors_are_shown_and_nothing_is_created(
    site: WebClient, web_settings: Settings
) -> None:
    email = unique_email()
    cases = [
        ({"name": "", "email": email, "password": PASSWORD}, "Missing name"),
        ({"name": "A", "email": "", "password": PASSWORD}, "Missing email address"),
        ({"name": "A", "email": "not-an-email", "password": PASSWORD}, "Invalid email address"),
        ({"name": "A", "email": email, "password": "short"}, "at least 8 characters"),
    ]
    for data, message in cases:
        resp = await site.submit(
            "/signup", "/signup", {**data, "password_confirm": data["password"]}
        )
        assert resp.status_code == 400 and message in resp.text, message
    resp = await site.submit(
        "/signup",
        "/signup",
        {"name": "A", "email": email, "password": PASSWORD, "password_confirm": PASSWORD + "x"},
    )
    assert resp.status_code == 400 and "The two passwords differ" in resp.text
    assert f'value="{email}"' in resp.text  # what was typed is kept
    assert await account_row(web_settings, email) is None


async def test_an_email_signs_up_once(site: WebClient, web_settings: Settings) -> None:
    email = await site.sign_up()
    async with open_site(web_settings) as (_app, other):
        resp = await other.submit(
            "/signup",
            "/signup",
            {"name": "B", "email": email, "password": PASSWORD, "password_confirm": PASSWORD},
        )
        assert resp.status_code == 400
        assert "An account with this email address already exists" in resp.text


async def test_sign_in_and_out(site: WebClient, web_settings: Settings) -> None:
    email = await site.sign_up(password=PASSWORD)
    await site.sign_out()
    assert (await site.get("/api-key")).status_code == 303
    resp = await site.sign_in(email, PASSWORD)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert (await site.get("/api-key")).status_code == 200
    row = await account_row(web_settings, email)
    assert row is not None and row.lastlogin is not None
    out = await site.sign_out()
    assert out.status_code == 303
    assert "Max-Age=0" in out.headers["set-cookie"]
    assert (await site.get("/api-key")).status_code == 303


async def test_wrong_password_and_unknown_email_get_the_same_answer(site: WebClient) -> None:
    email = await site.sign_up(password=PASSWORD)
    await site.sign_out()
    wrong = await site.sign_in(email, "wrong password")
    unknown = await site.sign_in(unique_email(), PASSWORD)
    for resp in (wrong, unknown):
        assert resp.status_code == 400
        assert "Wrong email address or password." in resp.text
        assert 'href="/api-key"' not in resp.text or "Sign out" not in resp.text
    assert f'value="{email}"' in wrong.text
    assert (await site.get("/api-key")).status_code == 303


async def test_demo_account_signs_in(site: WebClient, web_settings: Settings) -> None:
    databases = Databases(web_settings)
    try:
        async with databases.session(Database.APP) as session:
            keys = await ensure_demo_account(session)
    finally:
        await databases.dispose()
    assert (keys.email, keys.password) == (DEMO_EMAIL, DEMO_PASSWORD)
    resp = await site.sign_in(DEMO_EMAIL, DEMO_PASSWORD)
    assert resp.status_code == 303
    assert keys.user in (await site.get("/api-key")).text


async def test_forms_without_the_csrf_token_are_refused(site: WebClient) -> None:
    email = await site.sign_up(password=PASSWORD)
    await site.sign_out()
    await site.csrf("/login")  # the session has a token, but the post does not carry it
    missing = await site.http.post("/login", data={"email": email, "password": PASSWORD})
    forged = await site.http.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": "forged"}
    )
    for resp in (missing, forged):
        assert resp.status_code == 403
        assert "did not come from this site" in resp.text
    assert (await site.get("/api-key")).status_code == 303
    # Signed in, a forged sign-out or key regeneration does nothing either.
    await site.sign_in(email, PASSWORD)
    assert (await site.http.post("/logout", data={"csrf_token": "x"})).status_code == 403
    assert (await site.http.post("/new-api-key", data={})).status_code == 403
    assert (await site.get("/api-key")).status_code == 200


async def test_sign_in_attempts_are_limited_per_account(web_settings: Settings) -> None:
    settings = web_settings.model_copy(update={"website_signin_attempts": 3})
    async with open_site(settings) as (_app, site):
        email = await site.sign_up(password=PASSWORD)
        await site.sign_out()
        for _ in range(3):
            assert (await site.sign_in(email, "wrong")).status_code == 400
        refused = await site.sign_in(email, PASSWORD)  # even the right password
        assert refused.status_code == 429
        assert "Too many failed sign-in attempts" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= settings.website_signin_window
        assert (await site.get("/api-key")).status_code == 303
        # Another account from the same address is not locked out yet.
        other = await site.sign_up(password=PASSWORD)
        await site.sign_out()
        assert (await site.sign_in(other, PASSWORD)).status_code == 303


async def test_sign_in_attempts_are_limited_per_ip(web_settings: Settings) -> None:
    settings = web_settings.model_copy(
        update={"website_signin_attempts": 2, "redis_prefix": web_settings.redis_prefix + "ip:"}
    )
    async with open_site(settings) as (_app, site):
        email = await site.sign_up(password=PASSWORD)
        await site.sign_out()
        for _ in range(6):  # 2 attempts x 3 for an IP, each on a different account
            assert (await site.sign_in(unique_email(), "wrong")).status_code == 400
        assert (await site.sign_in(email, PASSWORD)).status_code == 429


async def test_return_url_only_leads_back_to_this_site(site: WebClient) -> None:
    email = await site.sign_up(password=PASSWORD)
    await site.sign_out()
    redirect = await site.get("/my-applications?x=1")
    assert redirect.status_code == 303
    assert redirect.headers["location"] == "/login?return_url=%2Fmy-applications%3Fx%3D1"
    for target, landing in [
        ("/my-applications?x=1", "/my-applications?x=1"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        resp = await site.submit(
            "/login", "/login", {"email": email, "password": PASSWORD, "return_url": target}
        )
        assert resp.status_code == 303 and resp.headers["location"] == landing, target
        await site.sign_out()


async def test_session_cookie_is_signed_httponly_samesite_and_secure_over_https(
    web_settings: Settings,
) -> None:
    async with open_site(web_settings) as (app, site):
        cookie = (await site.get("/login")).headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            secure = await http.get("/login")
            assert "; Secure" in secure.headers["set-cookie"]
        # A cookie whose signature does not match is ignored, not trusted.
        email = await site.sign_up(password=PASSWORD)
        assert email
        assert (await site.get("/api-key")).status_code == 200
        [(name, value)] = site.http.cookies.items()
        site.http.cookies.clear()
        site.http.cookies.set(name, value[:-3] + ("abc" if value[-3:] != "abc" else "xyz"))
        assert (await site.get("/api-key")).status_code == 303
        site.http.cookies.clear()
        site.http.cookies.set(name, value)
        assert (await site.get("/api-key")).status_code == 200


async def test_musicbrainz_sign_in_is_hidden_when_not_configured(site: WebClient) -> None:
    page = (await site.get("/login")).text
    assert "Sign in with MusicBrainz" not in page
    assert (await site.get("/login/musicbrainz")).status_code == 404


async def test_behind_a_trusted_proxy_its_headers_count(web_settings: Settings) -> None:
    proto = {"X-Forwarded-Proto": "https"}
    async with open_site(web_settings) as (_app, direct):
        # Not a proxy of ours: the header is the visitor's own word and is ignored.
        assert "Secure" not in (await direct.get("/login", headers=proto)).headers["set-cookie"]
    settings = web_settings.model_copy(
        update={
            "trusted_proxies": ["203.0.113.7"],
            "website_signin_attempts": 1,
            "redis_prefix": web_settings.redis_prefix + "proxy:",
        }
    )
    async with open_site(settings) as (_app, proxied):
        assert "; Secure" in (await proxied.get("/login", headers=proto)).headers["set-cookie"]

        # Failures are counted against the client the proxy names, not against the proxy:
        # 198.51.100.1 spends its three (1 x 3 per IP), 198.51.100.2 still has its own.
        async def attempt(client: str) -> int:
            token = await proxied.csrf("/login")
            resp = await proxied.http.post(
                "/login",
                data={"email": unique_email(), "password": "x", "csrf_token": token},
                headers={"X-Forwarded-For": client},
            )
            return resp.status_code

        assert [await attempt("198.51.100.1") for _ in range(3)] == [400, 400, 400]
        assert await attempt("198.51.100.2") == 400
        assert await attempt("198.51.100.1") == 429
