"""Pages for admins: per-application usage and the operator's view of queues and index.

Every route answers 404 to anyone who is not an admin, as acoustid.org does, so the pages'
existence is not advertised. The operator page asks each dependency itself (JetStream for
the submission queue, each index shard over HTTP, the ingest database for recent
submissions) and shows a failing one as such instead of failing the page.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from nats.js.errors import NotFoundError
from sqlalchemy import func, select

from libs.common import nats as nats_helpers
from libs.common.db import Database
from libs.common.models.app import Account, Application, StatsLookups
from libs.common.models.ingest import Submission, SubmissionResult
from libs.common.service import Resources
from services.web.auth import User, require_admin, resources
from services.web.templating import render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
RECENT_SUBMISSIONS = 20
PROBE_TIMEOUT = 2.0


def compact_number(value: int) -> str:
    """1234 -> 1.2K, 5600000 -> 5.6M, as the original's usage table shows totals."""
    for limit, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "K")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return str(value)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


async def admin_home(request: Request, user: User = Depends(require_admin)) -> HTMLResponse:
    return await render(request, "admin/index.html")


def _month(value: str | None, today: date) -> date:
    match = MONTH_RE.match(value or "")
    if match and 1 <= int(match.group(2)) <= 12 and 1 <= int(match.group(1)) <= 9998:
        return date(int(match.group(1)), int(match.group(2)), 1)
    return today.replace(day=1)


def _months_from(first: date, last: date) -> list[date]:
    months, current = [], last
    while current >= first:
        months.append(current)
        current = (current.replace(day=1) - _ONE_DAY).replace(day=1)
    return months


_ONE_DAY = datetime(2000, 1, 2) - datetime(2000, 1, 1)


@dataclass(frozen=True)
class AppUsage:
    id: int
    name: str
    version: str
    owner: str
    hits: int
    misses: int

    @property
    def total(self) -> int:
        return self.hits + self.misses


async def stats_apps(
    request: Request, month: str | None = None, user: User = Depends(require_admin)
) -> HTMLResponse:
    res = resources(request)
    today = datetime.now(UTC).date()
    start = _month(month, today)
    end = (start.replace(day=28) + 4 * _ONE_DAY).replace(day=1)
    hits, misses = func.sum(StatsLookups.count_hits), func.sum(StatsLookups.count_nohits)
    rows = await res.databases.fetch(
        Database.APP,
        select(Application.id, Application.name, Application.version, Account.name, hits, misses)
        .join(StatsLookups, StatsLookups.application_id == Application.id)
        .join(Account, Account.id == Application.account_id)
        .where(StatsLookups.date >= start, StatsLookups.date < end)
        .group_by(Application.id, Account.name)
        .order_by((hits + misses).desc(), Application.id),
    )
    usage = [AppUsage(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]
    first_rows = await res.databases.fetch(Database.APP, select(func.min(StatsLookups.date)))
    first = first_rows[0][0] or today
    return await render(
        request,
        "admin/stats_apps.html",
        month=start,
        months=_months_from(first.replace(day=1), today.replace(day=1)),
        usage=usage,
        total_hits=sum(u.hits for u in usage),
        total_misses=sum(u.misses for u in usage),
        compact=compact_number,
        percent=percent,
    )


# The operator page.


@dataclass
class Probe:
    """One dependency's answer for the page: values when it answered, else why not."""

    values: dict[str, Any]
    error: str | None = None


async def _probe(name: str, coro: Any) -> Probe:
    try:
        return Probe(await asyncio.wait_for(coro, PROBE_TIMEOUT))
    except Exception as exc:
        log.warning("operator page: %s failed: %r", name, exc)
        return Probe({}, f"{type(exc).__name__}: {exc}".strip(": ") or type(exc).__name__)


async def _queue(res: Resources) -> dict[str, Any]:
    settings = res.settings
    nc = await nats_helpers.connect(settings, "web-admin")
    try:
        js = nc.jetstream()
        stream = settings.stream(nats_helpers.SUBMISSIONS)
        dead_subject = nats_helpers.dead_letter_subject(settings)
        try:
            info = await js.stream_info(stream, subjects_filter=dead_subject)
        except NotFoundError:
            raise LookupError(f"the {stream} stream does not exist yet") from None
        dead = (info.state.subjects or {}).get(dead_subject, 0)
        values: dict[str, Any] = {
            "messages": info.state.messages,
            "dead": dead,
            "waiting": info.state.messages - dead,
        }
        try:
            consumer = await js.consumer_info(stream, nats_helpers.WORKER_DURABLE)
        except Exception:
            values["consumer"] = None
        else:
            values["consumer"] = {
                "pending": consumer.num_pending or 0,
                "in_flight": consumer.num_ack_pending or 0,
                "redelivered": consumer.num_redelivered or 0,
            }
        return values
    finally:
        await nc.close()


async def _index_shard(client: httpx.AsyncClient, url: str, index: str) -> dict[str, Any]:
    resp = await client.get(f"{url.rstrip('/')}/{index}")
    resp.raise_for_status()
    body = resp.json()
    return {"version": body["version"], **body["stats"]}


async def _recent_submissions(res: Resources) -> dict[str, Any]:
    rows = await res.databases.fetch(
        Database.INGEST,
        select(
            Submission.id,
            Submission.created,
            Submission.handled,
            Submission.application_id,
            Submission.length,
            Submission.mbid,
            SubmissionResult.fingerprint_id,
            SubmissionResult.track_id,
        )
        .outerjoin(SubmissionResult, SubmissionResult.submission_id == Submission.id)
        .order_by(Submission.id.desc())
        .limit(RECENT_SUBMISSIONS),
    )
    return {"rows": [row._asdict() for row in rows]}


async def operations(request: Request, user: User = Depends(require_admin)) -> HTMLResponse:
    res = resources(request)
    settings = res.settings
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        queue, submissions, *shards = await asyncio.gather(
            _probe("queue", _queue(res)),
            _probe("submissions", _recent_submissions(res)),
            *(
                _probe(f"index {url}", _index_shard(client, url, settings.index_name))
                for url in settings.index_urls
            ),
        )
    return await render(
        request,
        "admin/operations.html",
        queue=queue,
        submissions=submissions,
        shards=list(zip(settings.index_urls, shards, strict=True)),
        index_name=settings.index_name,
    )


router.add_api_route("/admin", admin_home, methods=["GET"])
router.add_api_route("/admin/stats/apps", stats_apps, methods=["GET"])
router.add_api_route("/admin/operations", operations, methods=["GET"])
