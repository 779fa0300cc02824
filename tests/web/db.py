"""Direct database steps the website tests need: roles, usage rows, reading what a page wrote."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, update

from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application, StatsLookups
from libs.common.settings import Settings


async def execute(settings: Settings, db: Database, stmt: Any) -> None:
    databases = Databases(settings)
    try:
        async with databases.session(db) as session:
            await session.execute(stmt)
            await session.commit()
    finally:
        await databases.dispose()


async def fetch(settings: Settings, db: Database, stmt: Any) -> list[Any]:
    databases = Databases(settings)
    try:
        return list(await databases.fetch(db, stmt))
    finally:
        await databases.dispose()


async def make_admin(settings: Settings, email: str) -> None:
    await execute(
        settings, Database.APP, update(Account).where(Account.email == email).values(is_admin=True)
    )


async def application(settings: Settings, app_id: int) -> Application:
    databases = Databases(settings)
    try:
        async with databases.session(Database.APP) as session:
            row = await session.get(Application, app_id)
            assert row is not None, app_id
            return row
    finally:
        await databases.dispose()


async def add_lookups(settings: Settings, app_id: int, day: date, hits: int, misses: int) -> None:
    await execute(
        settings,
        Database.APP,
        insert(StatsLookups).values(
            application_id=app_id, date=day, hour=12, count_hits=hits, count_nohits=misses
        ),
    )
