"""``/v2/internal/*``: calls between servers (replicas, the commercial side), behind the
cluster secret. Replicas forward their usage counters here; only the master writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from libs.common.apikeys import generate_api_key
from libs.common.db import Database
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.models.app import Account, Application, StatsLookups, StatsUserAgents
from services.api.endpoint import Call
from services.api.params import Params, parse_int, require

DEFAULT_STATS_DAYS = 30


def _secret(call: Call, master_only: bool = False) -> None:
    if not call.has_cluster_secret():
        raise WebServiceError(ErrorCode.NOT_ALLOWED)
    if master_only and call.settings.cluster_role != "master":
        raise WebServiceError(ErrorCode.NOT_ALLOWED)


def _int(params: Params, name: str) -> int:
    value = parse_int(params.get(name))
    if value is None or not 0 <= value < 2**31:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, name)
    return value


def _date(params: Params, name: str) -> date:
    try:
        return date.fromisoformat(require(params, name))
    except ValueError:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, name) from None


async def _known_application(call: Call, application_id: int) -> None:
    async with call.api.resources.databases.session(Database.APP) as session:
        if await session.get(Application, application_id) is None:
            raise WebServiceError(ErrorCode.UNKNOWN_APPLICATION)


@dataclass(frozen=True)
class LookupStatsUpdate:
    application_id: int
    day: date
    hour: int
    hit: bool
    count: int


async def parse_update_lookup_stats(call: Call) -> LookupStatsUpdate:
    _secret(call, master_only=True)
    p = call.params
    hour = _int(p, "hour")
    if hour > 23:
        raise WebServiceError(ErrorCode.MISSING_PARAMETER, "hour")
    return LookupStatsUpdate(
        _int(p, "application_id"), _date(p, "date"), hour, p.get("type") == "hit", _int(p, "count")
    )


async def run_update_lookup_stats(call: Call, u: LookupStatsUpdate) -> dict[str, Any]:
    await _known_application(call, u.application_id)
    column = "count_hits" if u.hit else "count_nohits"
    stmt = insert(StatsLookups).values(
        application_id=u.application_id, date=u.day, hour=u.hour, **{column: u.count}
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["application_id", "date", "hour"],
        set_={column: getattr(StatsLookups, column) + u.count},
    )
    async with call.api.resources.databases.session(Database.APP) as session:
        await session.execute(stmt)
        await session.commit()
    return {}


@dataclass(frozen=True)
class UserAgentStatsUpdate:
    application_id: int
    day: date
    user_agent: str
    ip: str
    count: int


async def parse_update_user_agent_stats(call: Call) -> UserAgentStatsUpdate:
    _secret(call, master_only=True)
    p = call.params
    return UserAgentStatsUpdate(
        _int(p, "application_id"),
        _date(p, "date"),
        p.get("user_agent") or "",
        p.get("ip") or "",
        _int(p, "count"),
    )


async def run_update_user_agent_stats(call: Call, u: UserAgentStatsUpdate) -> dict[str, Any]:
    await _known_application(call, u.application_id)
    stmt = insert(StatsUserAgents).values(
        application_id=u.application_id, date=u.day, user_agent=u.user_agent, ip=u.ip, count=u.count
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["application_id", "date", "user_agent", "ip"],
        set_={"count": StatsUserAgents.count + u.count},
    )
    async with call.api.resources.databases.session(Database.APP) as session:
        await session.execute(stmt)
        await session.commit()
    return {}


@dataclass(frozen=True)
class LookupStatsQuery:
    application_ids: list[int]
    since: date | None
    until: date | None
    days: int


async def parse_lookup_stats(call: Call) -> LookupStatsQuery:
    _secret(call)
    ids = []
    for key in dict.fromkeys(k for k in call.params.getall("client") if k):
        application_id = await call.api.keys.application_id(key, None)
        if application_id is not None:
            ids.append(application_id)
    if not ids:
        raise WebServiceError(ErrorCode.INVALID_APIKEY)
    since = _date(call.params, "from") if call.params.get("from") else None
    until = _date(call.params, "to") if call.params.get("to") else None
    days = parse_int(call.params.get("days"))
    if days is None or not 0 < days <= 36600:
        days = DEFAULT_STATS_DAYS
    return LookupStatsQuery(ids, since, until, days)


async def run_lookup_stats(call: Call, q: LookupStatsQuery) -> dict[str, Any]:
    hits = func.sum(StatsLookups.count_hits)
    nohits = func.sum(StatsLookups.count_nohits)
    stmt = (
        select(StatsLookups.date, hits, nohits)
        .where(StatsLookups.application_id.in_(q.application_ids))
        .group_by(StatsLookups.date)
        .order_by(StatsLookups.date)
    )
    if q.since is None and q.until is None:
        today = datetime.now(UTC).date()
        stmt = stmt.where(
            StatsLookups.date > today - timedelta(days=q.days), StatsLookups.date < today
        )
    if q.since is not None:
        stmt = stmt.where(StatsLookups.date >= q.since)
    if q.until is not None:
        stmt = stmt.where(StatsLookups.date <= q.until)
    async with call.api.resources.databases.session(Database.APP) as session:
        rows = await session.execute(stmt)
        stats = [
            {
                "date": day.isoformat(),
                "count_hits": int(h),
                "count_nohits": int(n),
                "count": int(h) + int(n),
            }
            for day, h, n in rows
        ]
    return {"stats": stats}


async def parse_create_account(call: Call) -> None:
    _secret(call)


async def run_create_account(call: Call, _: None) -> dict[str, Any]:
    account = Account(name="External User", apikey=generate_api_key())
    async with call.api.resources.databases.session(Database.APP) as session:
        session.add(account)
        await session.commit()
    return {"id": account.id, "api_key": account.apikey}


@dataclass(frozen=True)
class NewApplication:
    account_id: int
    name: str
    version: str


async def parse_create_application(call: Call) -> NewApplication:
    _secret(call)
    p = call.params
    return NewApplication(_int(p, "account_id"), require(p, "name"), require(p, "version"))


async def run_create_application(call: Call, new: NewApplication) -> dict[str, Any]:
    async with call.api.resources.databases.session(Database.APP) as session:
        if await session.get(Account, new.account_id) is None:
            raise WebServiceError(ErrorCode.NOT_ALLOWED)
        application = Application(
            name=new.name, version=new.version, apikey=generate_api_key(), account_id=new.account_id
        )
        session.add(application)
        await session.commit()
    return {"id": application.id, "api_key": application.apikey}


@dataclass(frozen=True)
class StatusChange:
    account_id: int
    application_id: int
    active: bool


async def parse_update_application_status(call: Call) -> StatusChange:
    """``active`` is true for any non-empty value, even ``0`` (the original's ``bool(str)``)."""
    _secret(call)
    p = call.params
    return StatusChange(
        _int(p, "account_id"), _int(p, "application_id"), bool(p.get("active") or "")
    )


async def run_update_application_status(call: Call, change: StatusChange) -> dict[str, Any]:
    async with call.api.resources.databases.session(Database.APP) as session:
        result = await session.execute(
            update(Application)
            .where(
                Application.id == change.application_id,
                Application.account_id == change.account_id,
            )
            .values(active=change.active)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise WebServiceError(ErrorCode.UNKNOWN_APPLICATION)
        await session.commit()
    return {"id": change.application_id, "active": change.active}


async def parse_check_application(call: Call) -> int:
    _secret(call)
    application_id = await call.api.keys.application_id(require(call.params, "api_key"), None)
    if application_id is None:
        raise WebServiceError(ErrorCode.INVALID_APIKEY)
    return application_id


async def run_check_application(call: Call, application_id: int) -> dict[str, Any]:
    return {"id": application_id}
