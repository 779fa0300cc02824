"""``/docs`` and ``/redoc`` work on a machine without internet: headless Chromium with every
request outside the service refused still renders each documented operation."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tests.clients.conftest import Stack

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        # Debian's chromium, not a Playwright download; no DNS beyond localhost either.
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield chromium
        chromium.close()


def offline_page(browser: Browser, origin: str, refused: list[str]) -> Page:
    page = browser.new_page()

    def only_the_service(route: Route) -> None:
        url = route.request.url
        if url.startswith(origin):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    page.route("**/*", only_the_service)
    return page


def documented_paths(base: str) -> list[str]:
    return sorted(httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"])


@pytest.mark.parametrize("service", ["api", "index"])
def test_swagger_ui_renders_every_operation_offline(
    stack: Stack, browser: Browser, service: str
) -> None:
    base = stack.processes[service].url
    paths = documented_paths(base)
    assert paths
    refused: list[str] = []
    page = offline_page(browser, base, refused)
    page.goto(f"{base}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    shown = page.locator(".opblock-summary-path").all_inner_texts()
    assert {text.replace("\u200b", "") for text in shown} == set(paths)
    assert refused == []
    page.close()


def test_redoc_renders_the_api_offline(stack: Stack, browser: Browser) -> None:
    refused: list[str] = []
    page = offline_page(browser, stack.api, refused)
    page.goto(f"{stack.api}/redoc")
    page.get_by_text("/v2/lookup").first.wait_for(timeout=30_000)
    assert page.locator("h2").count() >= 5  # one heading per operation group
    assert refused == []
    page.close()


@pytest.mark.parametrize("service", ["web", "worker", "cron"])
def test_services_without_documented_routes_advertise_no_docs(stack: Stack, service: str) -> None:
    base = stack.processes[service].url
    for path in ("/redoc", "/openapi.json"):
        assert httpx.get(f"{base}{path}", timeout=10).status_code == 404, path
    docs = httpx.get(f"{base}/docs", timeout=10)
    if service == "web":  # the website's own documentation index, a page of the site
        assert docs.status_code == 200 and "swagger" not in docs.text.lower()
    else:
        assert docs.status_code == 404


def test_assets_are_served_by_the_service(stack: Stack) -> None:
    page = httpx.get(f"{stack.api}/docs", timeout=10).text
    assets = [url for url in ("/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css")]
    for asset in assets:
        assert asset in page
        response = httpx.get(f"{stack.api}{asset}", timeout=10)
        assert response.status_code == 200 and len(response.content) > 10_000
    assert "cdn" not in page.lower() and urlsplit(stack.api).hostname == "127.0.0.1"
    assert httpx.get(f"{stack.api}/docs/assets/../app.py", timeout=10).status_code == 404
