"""Typed SQLAlchemy models of our three databases, one module (and one MetaData) each."""

from __future__ import annotations

from sqlalchemy import MetaData

from libs.common.db import Database
from libs.common.models.app import AppBase
from libs.common.models.fingerprint import FingerprintBase
from libs.common.models.ingest import IngestBase

METADATA: dict[Database, MetaData] = {
    Database.APP: AppBase.metadata,
    Database.FINGERPRINT: FingerprintBase.metadata,
    Database.INGEST: IngestBase.metadata,
    # MusicBrainz's tables come from its own SQL scripts (libs.common.musicbrainz.schema).
    Database.MUSICBRAINZ: MetaData(),
}
