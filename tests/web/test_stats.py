"""``/stats`` from the rows the cron writes: totals, both charts and both histograms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from libs.common.db import Database, Databases
from libs.common.models.app import Stats, StatsLookups
from tests.api.conftest import create_keys
from tests.web.site import WebClient
from tests.web.stack import WebStack


def _section(page: str, start: str, end: str) -> str:
    return page[page.index(f'id="{start}"') : page.index(f'id="{end}"')]


def _row(section: str, label: str) -> list[str]:
    match = re.search(rf"<tr><t[dh][^>]*>{re.escape(label)}</t[dh]>(.*?)</tr>", section)
    assert match, (label, section[:500])
    return re.findall(r'<td class="num">([^<]*)</td>', match.group(1))


async def test_stats_page_shows_what_the_cron_wrote(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    settings = web_stack.settings
    today = datetime.now(UTC).date()
    yesterday, earlier = today - timedelta(days=1), today - timedelta(days=3)
    keys = await create_keys(settings)
    databases = Databases(settings)
    try:
        async with databases.engine(Database.APP).begin() as conn:
            await conn.execute(text("TRUNCATE stats, stats_lookups"))
        async with databases.session(Database.APP) as session:
            values = {"track.all": 1234, "fingerprint.all": 2000, "mbid.all": 900}
            values |= {"account.active": 7, "submission.all": 4321}
            values |= {f"track.{n}mbids": 0 for n in range(11)}
            values |= {"track.0mbids": 234, "track.1mbids": 700, "track.10mbids": 300}
            values |= {f"mbid.{n}tracks": 0 for n in range(11)} | {"mbid.2tracks": 900}
            session.add_all(Stats(name=n, date=today, value=v) for n, v in values.items())
            session.add_all(
                [
                    Stats(name="track.all", date=yesterday, value=1200),
                    Stats(name="mbid.all", date=yesterday, value=890),
                ]
            )
            session.add_all(
                StatsLookups(
                    date=day,
                    hour=hour,
                    application_id=keys.application_id,
                    count_hits=h,
                    count_nohits=m,
                )
                for day, hour, h, m in [
                    (earlier, 3, 10, 5),
                    (earlier, 9, 20, 1),
                    (today, 1, 99, 99),
                ]
            )
            await session.commit()
    finally:
        await databases.dispose()

    page = (await browse_site.get("/stats")).text
    basic = _section(page, "basic", "additions")
    assert _row(basic, "AcoustIDs") == ["1,234"] and _row(basic, "Contributors") == ["7"]
    assert _row(basic, "Submissions") == ["4,321"]
    additions = _section(page, "additions", "searches")
    assert _row(additions, today.isoformat()) == ["34", "10"]
    assert _row(additions, yesterday.isoformat()) == ["", ""]  # no day before it to subtract
    searches = _section(page, "searches", "tracks-hist")
    assert _row(searches, earlier.isoformat()) == ["36", "30", "6"]
    assert f"<td>{today.isoformat()}<" not in searches, searches[-3000:]  # today is not over
    assert page.count("<svg") == 2 and ">No data yet</text>" not in page
    tracks = _section(page, "tracks-hist", "mbids-hist")
    assert _row(tracks, "0") == ["234", "19.0%"] and _row(tracks, "10 or more") == ["300", "24.3%"]
    assert "81.0% of AcoustIDs are linked to at least one" in page
    mbids = page[page.index('id="mbids-hist"') :]
    assert _row(mbids, "2") == ["900", "100.0%"]
