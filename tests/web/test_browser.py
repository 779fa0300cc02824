"""The whole website in real headless Chromium, with axe-core on every page.

One visitor's journey: sign up, see and regenerate the API key, register an application,
browse a track and its fingerprint picture, identify an uploaded file and land on its
track, sign out; then every other page of the site, as a visitor, an admin and on a phone.
Screenshots of each page are kept in the artefacts folder (see tests/web/browser.py).
"""

from __future__ import annotations

import re
import uuid

from playwright.async_api import Browser, Page, expect

from tests.web.browse_data import fingerprint_of, promote
from tests.web.browser import browser, check_page, page  # noqa: F401 (fixtures)
from tests.web.stack import MELODY, MELODY_MBID, WebStack

PASSWORD = "a long enough password"


async def _sign_up(tab: Page, base: str, email: str) -> None:
    await tab.goto(f"{base}/signup")
    await check_page(tab, "sign up")
    await tab.locator("#f-name").fill("Browser Tester")
    await tab.locator("#f-email").fill(email)
    await tab.locator("#f-password").fill(PASSWORD)
    await tab.locator("#f-password_confirm").fill(PASSWORD)
    await tab.get_by_role("button", name="Create account").click()
    await expect(tab.get_by_role("button", name="Sign out")).to_be_visible()


async def test_a_visitors_journey_through_the_site(page: Page, web_stack: WebStack) -> None:  # noqa: F811
    base = web_stack.web
    await page.goto(base + "/")
    await check_page(page, "home")

    email = f"browser-{uuid.uuid4().hex[:8]}@example.org"
    await _sign_up(page, base, email)

    await page.goto(f"{base}/api-key")
    key = page.locator("#user-api-key")
    first_key = (await key.inner_text()).strip()
    assert re.fullmatch(r"[A-Za-z0-9]{10}", first_key)
    await check_page(page, "api key")
    await page.get_by_role("button", name="Generate a new API key").click()
    await expect(page.get_by_text("A new API key was generated.")).to_be_visible()
    second_key = (await key.inner_text()).strip()
    assert second_key != first_key and len(second_key) == 10
    await check_page(page, "api key regenerated")

    await page.goto(f"{base}/new-application")
    await check_page(page, "new application")
    await page.locator("#f-name").fill("Browser <b>Player</b>")
    await page.locator("#f-version").fill("2.1")
    await page.locator("#f-email").fill(email)
    await page.locator("#f-website").fill("https://player.example.org/")
    await page.get_by_role("button", name=re.compile("Register")).click()
    await expect(page.get_by_role("heading", name="Browser <b>Player</b>")).to_be_visible()
    await check_page(page, "application")
    await page.goto(f"{base}/my-applications")
    await expect(page.get_by_role("link", name="Browser <b>Player</b>")).to_be_visible()
    await check_page(page, "my applications")

    track = web_stack.seeded.track
    await page.goto(f"{base}/track/{track}")
    await expect(page.get_by_text("linked to 1 MusicBrainz recording")).to_be_visible()
    await check_page(page, "track")
    fp_id, items = await fingerprint_of(web_stack.settings, track)
    await page.get_by_role("link", name=str(fp_id), exact=True).click()
    picture = page.get_by_role("img", name=re.compile(f"Fingerprint {fp_id}"))
    await expect(picture).to_be_visible()
    size = await picture.evaluate(
        "img => img.decode().then(() => [img.complete, img.naturalWidth, img.naturalHeight])"
    )
    assert size == [True, 128, len(items) * 2]
    await check_page(page, "fingerprint")

    await page.goto(f"{base}/identify")
    await check_page(page, "identify")
    await page.get_by_label("Audio file").set_input_files(str(MELODY))
    await page.get_by_role("button", name="Identify").click()
    await expect(page.get_by_role("heading", name="Matching AcoustIDs")).to_be_visible()
    await expect(page.get_by_text(MELODY_MBID)).to_be_visible()
    await check_page(page, "identify result")
    await page.get_by_role("link", name=track).click()
    await expect(page).to_have_url(f"{base}/track/{track}")

    await promote(web_stack.settings, email, is_admin=True)
    for path, name in [("/admin", "admin"), ("/admin/stats/apps", "admin apps")]:
        await page.goto(base + path)
        await check_page(page, name)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    await page.goto(f"{base}/api-key")
    await expect(page).to_have_url(re.compile(r"/login\?return_url="))
    await check_page(page, "sign in")


async def test_every_other_page_passes_axe(page: Page, web_stack: WebStack) -> None:  # noqa: F811
    base = web_stack.web
    fp_id, _ = await fingerprint_of(web_stack.settings, web_stack.seeded.track)
    other_id, _ = await fingerprint_of(web_stack.settings, web_stack.seeded.other_track)
    pages = {
        "about": "/about",
        "contact": "/contact",
        "database": "/database",
        "docs": "/docs",
        "faq": "/faq",
        "licence": "/license",
        "server": "/server",
        "webservice": "/webservice",
        "chromaprint": "/chromaprint",
        "statistics": "/stats",
        "recording": f"/mbid/{MELODY_MBID}",
        "unknown recording": f"/mbid/{uuid.uuid4()}",
        "compare": f"/fingerprint/{fp_id}/compare/{other_id}",
        "search": "/search",
        "search error": "/search?q=nonsense",
        "not found": "/no/such/page",
    }
    for name, path in pages.items():
        await page.goto(base + path)
        await check_page(page, name)
    await page.goto(base + "/")
    await page.get_by_role("searchbox").fill(web_stack.seeded.other_track)
    await page.get_by_role("searchbox").press("Enter")
    await expect(page).to_have_url(f"{base}/track/{web_stack.seeded.other_track}")


async def test_pages_fit_a_phone(browser: Browser, web_stack: WebStack) -> None:  # noqa: F811
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = await context.new_page()
    try:
        for name, path in [
            ("phone home", "/"),
            ("phone track", f"/track/{web_stack.seeded.track}"),
            ("phone statistics", "/stats"),
            ("phone identify", "/identify"),
        ]:
            await phone.goto(web_stack.web + path)
            await check_page(phone, name)
            overflow = await phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px"
    finally:
        await context.close()
