"""What the importer tests share: an importer whose index is the whole fingerprint table,
and submissions stored the way the API stores them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import func, select

from libs.common import fingerprint_codec
from libs.common.db import Database, Databases
from libs.common.models.fingerprint import Fingerprint
from libs.common.models.ingest import Submission
from libs.common.settings import Settings
from services.worker.importer import BatchSearcher, Importer
from services.worker.matching import Rules

MBID = uuid.UUID("b7ffd9e0-5a8e-4d2c-9b1e-1f1f1f1f1f1f")


def every_fingerprint(databases: Databases) -> BatchSearcher:
    """Every stored fingerprint is a candidate of every query: the index's job, done
    exhaustively, so the import rules are tested apart from the index's ranking. It answers
    the batch as the production ``search_many`` does, one list per query."""

    async def search_many(queries: Sequence[np.ndarray]) -> list[list[int]]:
        async with databases.session(Database.FINGERPRINT) as session:
            ids = list(await session.scalars(select(Fingerprint.id).order_by(Fingerprint.id)))
        return [ids for _ in queries]

    return search_many


def importer(databases: Databases, settings: Settings) -> Importer:
    return Importer(
        databases, every_fingerprint(databases), Rules.from_settings(settings), min_unique=80
    )


async def submit(
    databases: Databases, app_ids: tuple[int, int], items: np.ndarray, **fields: Any
) -> int:
    account_id, application_id = app_ids
    values: dict[str, Any] = {"mbid": MBID, "length": 125, **fields}
    async with databases.session(Database.INGEST) as session:
        sub = Submission(
            fingerprint=fingerprint_codec.to_int4(items),
            account_id=account_id,
            application_id=application_id,
            application_version="1.0",
            **values,
        )
        session.add(sub)
        await session.commit()
        return sub.id


async def count(databases: Databases, db: Database, model: Any) -> int:
    async with databases.session(db) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
