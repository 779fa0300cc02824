"""API keys in the original's format, and the demo account that ``make dev`` creates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.models.app import Account, Application

KEY_LENGTH = 10
DEMO_KEY_VALID_DAYS = 7
DEMO_ACCOUNT = "Demo user"
DEMO_APPLICATION = "Demo application"


def generate_api_key() -> str:
    """20 random bytes, base64 without ``/+=``, first 10 characters, as acoustid.org makes them."""
    while True:
        raw = base64.b64encode(secrets.token_bytes(20)).decode()
        key = raw.translate(str.maketrans("", "", "/+="))[:KEY_LENGTH]
        if len(key) == KEY_LENGTH:
            return key


@dataclass(frozen=True)
class DemoKeys:
    client: str
    user: str


async def named_account(session: AsyncSession, name: str) -> Account:
    """The first account with this name, created (with a new user key) if there is none."""
    account = await session.scalar(
        select(Account).where(Account.name == name).order_by(Account.id).limit(1)
    )
    if account is None:
        account = Account(name=name, apikey=generate_api_key(), anonymous=False)
        session.add(account)
        await session.flush()
    return account


async def ensure_demo_account(session: AsyncSession) -> DemoKeys:
    """Finds or creates the demo account and its application; the same keys on every run."""
    account = await named_account(session, DEMO_ACCOUNT)
    application = await session.scalar(
        select(Application)
        .where(Application.account_id == account.id, Application.name == DEMO_APPLICATION)
        .order_by(Application.id)
        .limit(1)
    )
    if application is None:
        application = Application(
            name=DEMO_APPLICATION,
            version="1.0",
            apikey=generate_api_key(),
            account_id=account.id,
            email="demo@localhost",
        )
        session.add(application)
    await session.commit()
    return DemoKeys(client=application.apikey, user=account.apikey)


def demo_client_key(secret: str, day: date) -> str:
    """The demo client key the website shows on ``day``, computed as acoustid.org does.

    HMAC-MD5 of the day's ordinal (lowercase hex) under ``"<secret>:demo-client-api-key"``,
    first 8 bytes as unpadded URL-safe base64 (11 characters), second-to-last forced to
    ``A`` so a demo key can never collide with a 10-character stored key.
    """
    mac = hmac.new(
        f"{secret}:demo-client-api-key".encode(), f"{day.toordinal():x}".encode(), hashlib.md5
    ).digest()
    key = base64.urlsafe_b64encode(mac[:8]).decode().rstrip("=")
    return key[:-2] + "A" + key[-1]


def is_demo_client_key(secret: str, key: str, today: date) -> bool:
    """True for the key of any day from ``today`` to ``today + 6`` (the original's window)."""
    if len(key) != 11 or key[-2] != "A":
        return False
    return any(
        hmac.compare_digest(key, demo_client_key(secret, today + timedelta(days=offset)))
        for offset in range(DEMO_KEY_VALID_DAYS)
    )
