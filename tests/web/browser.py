"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download is never used (this machine has no internet); the
system browser is launched by path. Every page a test visits can be checked with axe-core,
loaded from the copy ``make axe`` installs, and photographed into the artefacts folder
(``ACOUSTID_TEST_ARTIFACTS``, default ``test-artifacts/web``) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("ACOUSTID_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
AXE_JS = REPO / ".dev" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("ACOUSTID_TEST_ARTIFACTS", REPO / "test-artifacts")) / "web"
#: What axe reports that fails a test; moderate and minor findings are printed only.
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: `make axe` installs axe-core from npm")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    tab = await context.new_page()
    yield tab
    await context.close()


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


async def screenshot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{_slug(name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{v['impact']}: {v['id']} ({v['help']}) at {targets}")
    return "\n".join(lines)


async def check_page(page: Page, name: str) -> list[dict[str, Any]]:
    """Screenshot, then axe-core on the page; fails on any serious or critical violation."""
    await screenshot(page, name)
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE_JS))
    result = await page.evaluate("async () => await axe.run(document)")
    violations: list[dict[str, Any]] = result["violations"]
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe on {name} ({page.url}):\n{_describe(blocking)}"
    return violations
