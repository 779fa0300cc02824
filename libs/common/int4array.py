"""Fingerprints out of PostgreSQL without a Python int per item.

A fingerprint is an ``int4[]`` of about a thousand items. Letting the driver build a list of
Python ints and numpy convert it back costs more CPU than the rest of a lookup's query; the
server's own binary form (``array_send``) is a fixed layout numpy reads in one step.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from sqlalchemy import LargeBinary, func
from sqlalchemy.sql.elements import ColumnElement

INT4_OID = 23
_HEADER = struct.Struct(">iiI")
_DIMENSION = struct.Struct(">ii")


def binary(column: Any) -> ColumnElement[bytes]:
    """The column as ``array_send`` bytes, for :func:`items`."""
    return func.array_send(column, type_=LargeBinary())


def items(data: bytes) -> np.ndarray:
    """The uint32 items of an ``array_send`` of a one-dimensional ``int4[]`` without NULLs."""
    ndim, has_nulls, oid = _HEADER.unpack_from(data)
    if ndim == 0:
        return np.empty(0, dtype=np.uint32)
    if ndim != 1 or has_nulls or oid != INT4_OID:
        raise ValueError(f"not a one-dimensional int4[] without NULLs: {ndim}, {has_nulls}, {oid}")
    count, _ = _DIMENSION.unpack_from(data, _HEADER.size)
    offset = _HEADER.size + _DIMENSION.size
    if len(data) != offset + 8 * count:
        raise ValueError("truncated int4[]")
    pairs = np.frombuffer(data, dtype=">u4", count=2 * count, offset=offset).reshape(count, 2)
    if not (pairs[:, 0] == 4).all():
        raise ValueError("int4[] item of a length other than 4")
    return pairs[:, 1].astype(np.uint32)
