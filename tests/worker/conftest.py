"""Fixtures of the worker tests."""

from __future__ import annotations

import uuid

import pytest

from libs.common.db import Database, Databases
from libs.common.models.app import Account, Application


@pytest.fixture
async def app_ids(databases: Databases) -> tuple[int, int]:
    async with databases.session(Database.APP) as session:
        account = Account(name="importer test", apikey=uuid.uuid4().hex[:10])
        session.add(account)
        await session.flush()
        app = Application(
            name="t", version="1", apikey=uuid.uuid4().hex[:10], account_id=account.id
        )
        session.add(app)
        await session.commit()
        return account.id, app.id
