"""User keys: look one up, mint one for an anonymous user, or for a MusicBrainz account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from libs.common.apikeys import generate_api_key
from libs.common.db import Database
from libs.common.errors import ErrorCode, WebServiceError
from libs.common.models.app import Account
from services.api.endpoint import Call
from services.api.params import require

MUSICBRAINZ_TIMEOUT = 10.0


async def parse_user_lookup(call: Call) -> str:
    """The key itself is the answer; the lookup bypasses the key cache like the original."""
    await call.account(cached=False)
    return require(call.params, "user")


async def run_user_lookup(call: Call, key: str) -> dict[str, Any]:
    return {"user": {"apikey": key}}


@dataclass(frozen=True)
class NewAnonymous:
    application_id: int
    version: str | None


async def parse_create_anonymous(call: Call) -> NewAnonymous:
    application_id = await call.application()
    return NewAnonymous(application_id, call.params.get("clientversion") or None)


async def run_create_anonymous(call: Call, new: NewAnonymous) -> dict[str, Any]:
    account = Account(
        name="Anonymous",
        apikey=generate_api_key(),
        anonymous=True,
        created_from=call.ip,
        application_id=new.application_id,
        application_version=new.version,
    )
    async with call.api.resources.databases.session(Database.APP) as session:
        session.add(account)
        await session.commit()
    return {"user": {"apikey": account.apikey}}


def is_https(call: Call) -> bool:
    """The scheme the client used, trusting one proxy hop like werkzeug's ProxyFix."""
    forwarded = call.request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return (forwarded or call.request.url.scheme).lower() == "https"


async def parse_create_musicbrainz(call: Call) -> str:
    token = require(call.params, "access_token")
    if not is_https(call):
        raise WebServiceError(ErrorCode.INSECURE_REQUEST)
    return token


async def run_create_musicbrainz(call: Call, token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=MUSICBRAINZ_TIMEOUT) as client:
        response = await client.get(
            call.settings.musicbrainz_userinfo_url, params={"access_token": token}
        )
    if response.status_code != 200:
        raise WebServiceError(ErrorCode.INVALID_MUSICBRAINZ_ACCESS_TOKEN)
    mbuser = str(response.json().get("sub") or "")
    if not mbuser:
        raise WebServiceError(ErrorCode.INVALID_MUSICBRAINZ_ACCESS_TOKEN)
    async with call.api.resources.databases.session(Database.APP) as session:
        account = await session.scalar(
            select(Account).where(func.lower(Account.mbuser) == mbuser.lower()).limit(1)
        )
        if account is None:
            account = Account(
                name=mbuser, mbuser=mbuser, apikey=generate_api_key(), created_from=call.ip
            )
            session.add(account)
            await session.commit()
    return {"user": {"apikey": account.apikey}}
