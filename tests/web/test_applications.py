"""The user API key page and applications: registration, usage, editing, deactivation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from libs.common.db import Database
from libs.common.models.app import Account
from libs.common.settings import Settings
from tests.web import db
from tests.web.conftest import open_site
from tests.web.site import WebClient

GOOD = {"name": "Tagger", "version": "2.1", "email": "dev@example.org", "website": ""}


async def register(site: WebClient, **fields: str) -> int:
    resp = await site.submit("/new-application", "/new-application", {**GOOD, **fields})
    assert resp.status_code == 303, resp.text
    match = re.fullmatch(r"/application/(\d+)", resp.headers["location"])
    assert match, resp.headers["location"]
    return int(match.group(1))


@pytest.mark.parametrize(
    "path", ["/api-key", "/my-applications", "/new-application", "/application/1"]
)
async def test_pages_of_an_account_ask_to_sign_in(site: WebClient, path: str) -> None:
    resp = await site.get(path)
    assert resp.status_code == 303
    assert resp.headers["location"].startswith("/login?return_url=%2F")


async def test_regenerating_the_user_key(site: WebClient, web_settings: Settings) -> None:
    email = await site.sign_up()
    [(before,)] = await db.fetch(
        web_settings, Database.APP, select(Account.apikey).where(Account.email == email)
    )
    assert before in (await site.get("/api-key")).text
    resp = await site.submit("/api-key", "/new-api-key", {})
    assert resp.status_code == 303 and resp.headers["location"] == "/api-key?regenerated=1"
    [(after,)] = await db.fetch(
        web_settings, Database.APP, select(Account.apikey).where(Account.email == email)
    )
    assert after != before and len(after) == 10
    page = (await site.get("/api-key?regenerated=1")).text
    assert after in page and before not in page and "A new API key was generated" in page


async def test_register_an_application(site: WebClient, web_settings: Settings) -> None:
    await site.sign_up()
    assert (
        "You have not registered any application yet." in (await site.get("/my-applications")).text
    )
    app_id = await register(site, website="https://tagger.example/")
    row = await db.application(web_settings, app_id)
    assert (row.name, row.version, row.email, row.website, row.active) == (
        "Tagger",
        "2.1",
        "dev@example.org",
        "https://tagger.example/",
        True,
    )
    page = (await site.get(f"/application/{app_id}")).text
    assert f'<code id="app-api-key">{row.apikey}</code>' in page
    assert 'href="https://tagger.example/"' in page and "Lookups in the last 30 days" in page
    listing = (await site.get("/my-applications")).text
    assert f'<a href="/application/{app_id}">Tagger</a>' in listing and row.apikey in listing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Missing application name"),
        ({"version": " "}, "Missing version number"),
        ({"email": ""}, "Missing email address"),
        ({"email": "nobody"}, "Invalid email address"),
        ({"website": "ftp://x.example/"}, "Invalid website URL"),
        ({"website": "javascript:alert(1)"}, "Invalid website URL"),
    ],
)
async def test_application_fields_are_checked(
    site: WebClient, web_settings: Settings, fields: dict[str, str], message: str
) -> None:
    await site.sign_up()
    data = {**GOOD, **fields, "name": fields.get("name", "Unique " + message)}
    resp = await site.submit("/new-application", "/new-application", data)
    assert resp.status_code == 400
    assert f"<li>{message}</li>" in resp.text
    kept = data["name"] or data["version"]
    assert f'value="{kept}"' in resp.text  # the form keeps what was typed
    assert (
        "You have not registered any application yet." in (await site.get("/my-applications")).text
    )


async def test_application_names_are_escaped(site: WebClient) -> None:
    await site.sign_up()
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    app_id = await register(site, name=evil, version='"><b>1</b>')
    for path in (f"/application/{app_id}", "/my-applications", f"/application/{app_id}/edit"):
        page = (await site.get(path)).text
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>1</b>" not in page
        assert "&lt;script&gt;alert(" in page


async def test_edit_and_deactivate(site: WebClient, web_settings: Settings) -> None:
    await site.sign_up()
    app_id = await register(site)
    form = (await site.get(f"/application/{app_id}/edit")).text
    assert 'value="Tagger"' in form and 'value="2.1"' in form
    bad = await site.submit(
        f"/application/{app_id}/edit", f"/application/{app_id}/edit", {**GOOD, "email": "x"}
    )
    assert bad.status_code == 400 and "Invalid email address" in bad.text
    assert (await db.application(web_settings, app_id)).email == "dev@example.org"
    ok = await site.submit(
        f"/application/{app_id}/edit",
        f"/application/{app_id}/edit",
        {**GOOD, "name": "Tagger Pro", "version": "3.0"},
    )
    assert ok.status_code == 303
    row = await db.application(web_settings, app_id)
    assert (row.name, row.version) == ("Tagger Pro", "3.0")
    off = await site.submit(
        f"/application/{app_id}", f"/application/{app_id}/active", {"active": "0"}
    )
    assert off.status_code == 303
    assert (await db.application(web_settings, app_id)).active is False
    page = (await site.get(f"/application/{app_id}")).text
    assert "This application is deactivated" in page and "Activate again" in page
    assert "deactivated" in (await site.get("/my-applications")).text
    await site.submit(f"/application/{app_id}", f"/application/{app_id}/active", {"active": "1"})
    assert (await db.application(web_settings, app_id)).active is True


async def test_usage_chart_and_monthly_table(site: WebClient, web_settings: Settings) -> None:
    await site.sign_up()
    app_id = await register(site)
    today = datetime.now(UTC).date()
    await db.add_lookups(web_settings, app_id, today, hits=70, misses=30)
    await db.add_lookups(web_settings, app_id, today - timedelta(days=2), hits=5, misses=1)
    await db.add_lookups(web_settings, app_id, today - timedelta(days=400), hits=1234, misses=0)
    page = (await site.get(f"/application/{app_id}")).text
    chart = page[page.index("<svg") : page.index("</svg>")]
    assert f">{today.isoformat()[5:]}<" in chart  # the x axis ends today
    values = re.findall(r'<desc class="value">(\d+)</desc>', chart)
    assert len(values) == 3 * 30  # all, hits, misses: 30 days each, today last
    assert (values[29], values[27], values[59], values[89]) == ("100", "6", "70", "30")
    for name in ("All", "Hits", "Misses"):
        assert f">{name}<" in chart
    assert "<script" not in chart and "kozea.github.io" not in page
    assert f'<tr><td>{today.isoformat()}</td><td class="num">100</td>' in page
    old = today - timedelta(days=400)
    assert f'<tr><td>{old.strftime("%Y-%m")}</td><td class="num">1,234</td>' in page
    assert f"<tr><td>{today.strftime('%Y-%m')}</td>" in page


async def test_other_accounts_applications_are_not_shown(web_settings: Settings) -> None:
    async with open_site(web_settings) as (_a, owner), open_site(web_settings) as (_b, other):
        await owner.sign_up()
        app_id = await register(owner, name="Secret app")
        key = (await db.application(web_settings, app_id)).apikey
        await other.sign_up()
        for path in (f"/application/{app_id}", f"/application/{app_id}/edit"):
            resp = await other.get(path)
            assert (
                resp.status_code == 404 and key not in resp.text and "Secret app" not in resp.text
            )
        token = await other.csrf("/my-applications")
        for action, data in [
            (f"/application/{app_id}/edit", {**GOOD, "name": "Mine now"}),
            (f"/application/{app_id}/active", {"active": "0"}),
        ]:
            resp = await other.http.post(action, data={**data, "csrf_token": token})
            assert resp.status_code == 404
        row = await db.application(web_settings, app_id)
        assert (row.name, row.active) == ("Secret app", True)
        assert "Secret app" not in (await other.get("/my-applications")).text
        assert (await other.get("/application/999999")).status_code == 404


async def test_admins_see_but_do_not_edit_others_applications(web_settings: Settings) -> None:
    async with open_site(web_settings) as (_a, owner), open_site(web_settings) as (_b, admin):
        await owner.sign_up()
        app_id = await register(owner, name="Watched app")
        email = await admin.sign_up()
        await db.make_admin(web_settings, email)
        page = await admin.get(f"/application/{app_id}")
        assert page.status_code == 200 and "Watched app" in page.text
        assert f'href="/application/{app_id}/edit"' not in page.text
        assert (await admin.get(f"/application/{app_id}/edit")).status_code == 403


async def test_ids_that_name_no_application_are_404(site: WebClient) -> None:
    await site.sign_up()
    for app_id in ("abc", "0", "-1", "99999999999", "1.5"):
        resp = await site.get(f"/application/{app_id}")
        assert resp.status_code == 404, app_id
        assert "Page not found" in resp.text
