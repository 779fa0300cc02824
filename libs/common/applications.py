"""Applications an operator registers by hand, and the well-known clients' public keys.

Picard and beets carry their acoustid.org application keys as constants in their source, so an
unmodified copy only works against a self-hosted instance that accepts those exact keys. Each
well-known client is its own application, so its lookups and submissions are counted apart.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.apikeys import generate_api_key, named_account
from libs.common.models.app import Application

# The keys are public: they are in the clients' source (picard/const/__init__.py,
# beetsplug/chroma.py).
KNOWN_CLIENTS: dict[str, str] = {"Picard": "v8pQ6oyB", "beets": "1vOwZtEn"}
OPERATOR_ACCOUNT = "Registered applications"
_KEY = re.compile(r"[A-Za-z0-9_-]{4,64}")


class ApplicationError(Exception):
    """An application cannot be added as asked; the message says why."""


async def add_application(
    session: AsyncSession,
    name: str,
    key: str | None = None,
    version: str = "",
    email: str | None = None,
    account: str = OPERATOR_ACCOUNT,
) -> tuple[Application, bool]:
    """The application with this key, created under ``account`` unless it exists.

    Returns ``(application, created)``. Adding the same name and key again changes nothing, so
    a deployment script may run it on every start; a key that another application already uses
    is refused, since one key must count against one application.
    """
    if not name.strip():
        raise ApplicationError("the application needs a name")
    if key is not None and not _KEY.fullmatch(key):
        raise ApplicationError(f"key {key!r}: use 4 to 64 letters, digits, '-' or '_'")
    if key is not None:
        existing = await session.scalar(select(Application).where(Application.apikey == key))
        if existing is not None:
            if existing.name != name:
                raise ApplicationError(
                    f"key {key} already belongs to application {existing.id} ({existing.name})"
                )
            return existing, False
    owner = await named_account(session, account)
    application = Application(
        name=name,
        version=version,
        apikey=key or generate_api_key(),
        account_id=owner.id,
        email=email,
    )
    session.add(application)
    await session.commit()
    return application, True


async def ensure_known_clients(session: AsyncSession) -> list[tuple[Application, bool]]:
    """Every well-known client's key as its own application (idempotent)."""
    return [await add_application(session, name, key) for name, key in KNOWN_CLIENTS.items()]


async def list_applications(session: AsyncSession) -> list[Application]:
    return list(await session.scalars(select(Application).order_by(Application.id)))
