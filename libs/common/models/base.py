"""What the three schemas share: the original's constraint names and column shapes.

The naming convention reproduces acoustid.org's (``<table>_pkey``, ``<table>_fk_<col>``,
``<table>_idx_<col>``) so a dump of one restores into the other and operators' scripts that
name indexes keep working.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from sqlalchemy import DateTime, Integer, MetaData, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import UserDefinedType

NAMING_CONVENTION = {
    "ix": "%(table_name)s_idx_%(column_0_N_name)s",
    "uq": "%(table_name)s_idx_%(column_0_N_name)s",
    "ck": "%(table_name)s_ck_%(constraint_name)s",
    "fk": "%(table_name)s_fk_%(column_0_name)s",
    "pk": "%(table_name)s_pkey",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id, which orders changelog rows by commit."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


ischema_names["xid8"] = XID8


IntArray = ARRAY(Integer, dimensions=1)
"""A raw fingerprint, stored as ``int4[]`` like the original so dumps interchange."""

intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
created_ts = Annotated[
    datetime, mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())
]
updated_ts = Annotated[datetime | None, mapped_column(DateTime(timezone=True))]
optional_ts = Annotated[datetime | None, mapped_column(DateTime(timezone=True))]
UUIDType = UUID(as_uuid=True)
uuid_col = Annotated[uuid.UUID, mapped_column(UUIDType)]
