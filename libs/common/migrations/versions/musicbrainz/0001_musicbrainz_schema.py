"""musicbrainz schema: the tables lookups read, empty until a dump is imported

Revision ID: 0001_musicbrainz
Revises:
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from libs.common.musicbrainz import schema

revision: str = "0001_musicbrainz"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Leaves a schema that already holds MusicBrainz tables (an mbslave replica) alone."""
    exists = op.get_bind().scalar(sa.text(f"SELECT to_regclass('{schema.SCHEMA}.recording')"))
    if exists:
        return
    for stmt in schema.ddl(schema.SCHEMA):
        op.execute(stmt)
    op.execute("RESET search_path")


def downgrade() -> None:
    op.execute(f'DROP SCHEMA IF EXISTS "{schema.SCHEMA}" CASCADE')
