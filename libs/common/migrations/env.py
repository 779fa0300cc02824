"""The one Alembic environment: picks the database, its URL and its models from the config."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from libs.common.db import Database
from libs.common.models import METADATA

config = context.config
database: Database = config.attributes["database"]
url: str = config.attributes["url"]
version_table: str = config.attributes["version_table"]


def migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=METADATA[database],
        compare_type=True,
        transaction_per_migration=True,
        version_table=version_table,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run() -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(migrate)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=url,
        target_metadata=METADATA[database],
        literal_binds=True,
        version_table=version_table,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run())
