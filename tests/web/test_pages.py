"""The content pages: each answers, says what it should, and loads nothing from elsewhere."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from libs.common.apikeys import demo_client_key
from libs.common.settings import Settings
from tests.web.conftest import open_site
from tests.web.site import WebClient

PAGES = {
    "/": "Welcome to AcoustID!",
    "/about": "About AcoustID",
    "/contact": "info@acoustid.org",
    "/database": "data.acoustid.org",
    "/docs": "Frequently asked questions",
    "/faq": "What is an AcoustID?",
    "/license": "Attribution-ShareAlike 3.0",
    "/server": "acoustid account set-admin",
    "/webservice": "/v2/lookup",
    "/chromaprint": "acoustid fpcalc",
}


@pytest.mark.parametrize("path", list(PAGES))
async def test_page_answers_with_its_content(site: WebClient, path: str) -> None:
    resp = await site.get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert PAGES[path] in resp.text
    # Anonymous visitors of a page without a form get no cookie.
    assert "set-cookie" not in resp.headers
    # Nothing is loaded from another host: every src and stylesheet is local.
    for url in re.findall(r'(?:src|href)="([^"]+)"', resp.text):
        if url.startswith(("http://", "https://")):
            assert not re.search(r"\.(css|js|woff2?)(\?|$)", url), url
    assert re.findall(r'<script[^>]+src="https?:', resp.text) == []


async def test_home_links_to_the_key_and_the_developer_pages(site: WebClient) -> None:
    page = (await site.get("/")).text
    for link in ('href="/api-key"', 'href="/webservice"', 'href="/new-application"'):
        assert link in page
    assert 'href="/login"' in page and "Sign out" not in page


async def test_webservice_documents_every_endpoint_and_error_with_todays_demo_key(
    site: WebClient, web_settings: Settings
) -> None:
    from libs.common.api_spec import PUBLIC
    from libs.common.errors import error_table

    page = (await site.get("/webservice")).text
    key = demo_client_key(web_settings.website_secret, datetime.now(UTC).date())
    assert f'<code id="demo-key">{key}</code>' in page
    assert f"{web_settings.website_api_url}/v2/lookup?client={key}&amp;" in page
    for path, operation in PUBLIC:
        assert f"<code>{path}</code>" in page
        for param in operation["parameters"]:
            assert f"<td><code>{param['name']}</code></td>" in page
    for code, status, message in error_table():
        assert f'<td class="num">{code}</td><td class="num">{status}</td>' in page
        assert message.replace('"', "&#34;") in page


async def test_chromaprint_page_shows_fpcalc_usage_without_asking_github(site: WebClient) -> None:
    from libs.chromaprint_cy.fpcalc import USAGE

    page = (await site.get("/chromaprint")).text
    assert "-length SECS" in page and USAGE.splitlines()[0] in page
    assert "api.github.com" not in page


async def test_maintenance_banner_follows_the_setting(web_settings: Settings) -> None:
    async with open_site(web_settings) as (_app, off):
        assert "read-only mode for maintenance" not in (await off.get("/")).text
    on_settings = web_settings.model_copy(update={"website_maintenance": True})
    async with open_site(on_settings) as (_app, on):
        for path in ("/", "/faq", "/login"):
            assert (
                "AcoustID is currently in read-only mode for maintenance"
                in (await on.get(path)).text
            )


async def test_favicon_and_stylesheet_are_served_by_the_site(site: WebClient) -> None:
    icon = await site.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["location"] == "/static/logo.svg"
    svg = await site.get("/static/logo.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")
    css = await site.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@media" in css.text  # the phone layout


async def test_unknown_page_is_a_404_page_in_the_layout(site: WebClient) -> None:
    resp = await site.get("/no/such/page")
    assert resp.status_code == 404
    assert "<h1>Page not found</h1>" in resp.text and 'href="/static/style.css"' in resp.text
