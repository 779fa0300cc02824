"""Admin pages: hidden from everyone else, usage per application, the operator's view."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from libs.common import nats as nats_helpers
from libs.common.db import Database
from libs.common.models.ingest import Submission, SubmissionResult
from libs.common.settings import Settings
from tests.conftest import closed_port_url
from tests.index.conftest import index_settings, served
from tests.web import db
from tests.web.conftest import open_site
from tests.web.site import WebClient
from tests.web.test_applications import register

ADMIN_PAGES = [
    "/admin",
    "/admin/stats/apps",
    "/admin/stats/apps?month=2026-01",
    "/admin/operations",
]


@pytest.fixture
async def admin(web_settings: Settings) -> AsyncIterator[WebClient]:
    async with open_site(web_settings) as (_app, client):
        email = await client.sign_up(name="The admin")
        await db.make_admin(web_settings, email)
        yield client


@pytest.mark.parametrize("path", ADMIN_PAGES)
async def test_admin_pages_do_not_exist_for_others(site: WebClient, path: str) -> None:
    assert (await site.get(path)).status_code == 404
    await site.sign_up()
    resp = await site.get(path)
    assert resp.status_code == 404 and "Page not found" in resp.text
    assert 'href="/admin"' not in (await site.get("/")).text


async def test_admin_home_links_its_pages(admin: WebClient) -> None:
    page = await admin.get("/admin")
    assert page.status_code == 200
    assert 'href="/admin/stats/apps"' in page.text and 'href="/admin/operations"' in page.text
    assert '<li><a href="/admin">Admin</a></li>' in page.text


async def test_application_usage_per_month(admin: WebClient, web_settings: Settings) -> None:
    async with open_site(web_settings) as (_app, owner):
        await owner.sign_up(name="Owner <b>")
        busy = await register(owner, name="Busy <app>")
        quiet = await register(owner, name="Quiet app")
    await db.add_lookups(web_settings, busy, datetime(2025, 3, 4).date(), hits=1500, misses=500)
    await db.add_lookups(web_settings, quiet, datetime(2025, 3, 9).date(), hits=1, misses=3)
    await db.add_lookups(web_settings, quiet, datetime(2025, 4, 1).date(), hits=9, misses=0)
    page = (await admin.get("/admin/stats/apps?month=2025-03")).text
    assert "Application usage in March 2025" in page
    busy_row = page[page.index(f'href="/application/{busy}"') :]
    assert "Busy &lt;app&gt;" in busy_row and "Owner &lt;b&gt;" in busy_row
    assert busy_row.index("75.0%") < busy_row.index("25.0%") < busy_row.index("2.0K")
    quiet_row = page[page.index(f'href="/application/{quiet}"') :]
    assert quiet_row.index("25.0%") < quiet_row.index("75.0%")
    assert page.index(f"/application/{busy}") < page.index(f"/application/{quiet}")
    assert '<option value="2025-03" selected>' in page
    today = datetime.now(UTC).date()
    assert f'<option value="{today.strftime("%Y-%m")}"' in page  # picker runs up to this month
    april = (await admin.get("/admin/stats/apps?month=2025-04")).text
    assert f'href="/application/{busy}"' not in april and "100.0%" in april
    for bad in ("2025-13", "garbage", ""):
        assert (await admin.get(f"/admin/stats/apps?month={bad}")).status_code == 200


async def test_operator_page_shows_queue_index_and_recent_submissions(
    web_settings: Settings, tmp_path: Path
) -> None:
    prefix = f"web{uuid.uuid4().hex[:6]}."
    settings = web_settings.model_copy(update={"nats_prefix": prefix})
    nc = await nats_helpers.connect(settings, "test")
    try:
        js = nc.jetstream()
        await nats_helpers.ensure_streams(js, settings)
        for n in range(3):
            await js.publish(nats_helpers.submissions_subject(settings), str(n).encode())
        await js.publish(nats_helpers.dead_letter_subject(settings), b"bad")
        submitted = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
        for _ in range(2):
            await db.execute(
                settings,
                Database.INGEST,
                insert(Submission).values(
                    fingerprint=[1, 2, 3], length=125, created=submitted, handled=False
                ),
            )
        [(last,)] = await db.fetch(settings, Database.INGEST, select(func.max(Submission.id)))
        await db.execute(
            settings,
            Database.INGEST,
            insert(SubmissionResult).values(
                submission_id=last, account_id=1, application_id=1, fingerprint_id=77, track_id=88
            ),
        )
        index = index_settings(tmp_path / "index")
        async with served(index) as [url]:
            down = closed_port_url("http")
            page_settings = settings.model_copy(update={"index_urls": [url, down]})
            async with open_site(page_settings) as (_app, site):
                email = await site.sign_up()
                await db.make_admin(settings, email)
                page = (await site.get("/admin/operations")).text
        await nats_helpers.delete_streams(index)
    finally:
        await nats_helpers.delete_streams(settings)
        await nc.close()
    queue = page[page.index('id="queue"') : page.index("</dl>")]
    assert "<dt>Waiting to be imported</dt><dd>3</dd>" in queue
    assert '<dd id="dead-letters">1</dd>' in queue
    assert "no worker has subscribed yet" in queue
    shards = page[page.index('id="shards"') :]
    assert f"<code>{url}</code>" in shards and f"<code>{down}</code>" in shards
    assert shards.count("not answering") == 1
    table = page[page.index('id="submissions"') :]
    assert f'<td class="num">{last}</td>' in table and "2026-05-06 07:08:09" in table
    assert '<a href="/track/88">88</a>' in table and '<a href="/fingerprint/77">77</a>' in table
    assert "pending" in table and '<td class="num">2:05</td>' in table


async def test_operator_page_says_which_dependency_is_down(web_settings: Settings) -> None:
    settings = web_settings.model_copy(
        update={
            "nats_servers": [closed_port_url("nats")],
            "index_urls": [closed_port_url("http")],
            "ingest_database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/none",
        }
    )
    async with open_site(settings) as (_app, site):
        email = await site.sign_up()
        await db.make_admin(settings, email)
        resp = await site.get("/admin/operations")
    assert resp.status_code == 200
    assert "JetStream did not answer" in resp.text
    assert "The ingest database did not answer" in resp.text
    assert "not answering" in resp.text


async def test_months_out_of_range_fall_back_to_this_month(admin: WebClient) -> None:
    this_month = datetime.now(UTC).date().strftime("%B %Y")
    for month in ("0000-01", "9999-12", "2025-00", "12345-01"):
        resp = await admin.get(f"/admin/stats/apps?month={month}")
        assert resp.status_code == 200, month
        assert f"Application usage in {this_month}" in resp.text
