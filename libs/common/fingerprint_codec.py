"""Every conversion between the forms a fingerprint takes on its way through the services.

* **text**: Chromaprint's compressed, URL-safe base64, what clients send (:func:`from_text`);
* **items**: a uint32 numpy array, what ``compare2`` and the index's query terms work on;
* **int4**: the signed values PostgreSQL's ``int4[]`` column stores (:func:`to_int4`,
  :func:`from_int4`), the same bits read as int32;
* **binary**: the column's ``array_send`` bytes (:func:`binary`, :func:`from_binary`);
  letting the driver build a Python int per item and numpy convert it back cost more CPU
  than the rest of a lookup's query, while this fixed layout numpy reads in one step;
* **wire**: query terms as the plain ints the index's msgpack bodies carry (:func:`to_wire`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import LargeBinary, func
from sqlalchemy.sql.elements import ColumnElement

from libs.chromaprint_cy.codec import FingerprintError, decode_fingerprint
from libs.chromaprint_cy.constants import DEFAULT_ALGORITHM

INT4_OID = 23
_HEADER = struct.Struct(">iiI")
_DIMENSION = struct.Struct(">ii")


class InvalidFingerprint(ValueError):
    """Text that is not a non-empty algorithm-1 fingerprint (the only one AcoustID stores)."""


def from_text(text: str) -> np.ndarray:
    try:
        items, algorithm = decode_fingerprint(text)
    except (FingerprintError, ValueError, OverflowError, MemoryError):
        raise InvalidFingerprint(text[:20]) from None
    if algorithm != DEFAULT_ALGORITHM or len(items) == 0:
        raise InvalidFingerprint(text[:20])
    return np.ascontiguousarray(items, dtype=np.uint32)


def to_int4(items: np.ndarray) -> list[int]:
    return np.asarray(items, dtype=np.uint32).view(np.int32).tolist()


def from_int4(values: Sequence[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype(np.uint32)


def binary(column: Any) -> ColumnElement[bytes]:
    """The column as ``array_send`` bytes, for :func:`from_binary`."""
    return func.array_send(column, type_=LargeBinary())


def from_binary(data: bytes) -> np.ndarray:
    """The items of an ``array_send`` of a one-dimensional ``int4[]`` without NULLs."""
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


def to_wire(terms: np.ndarray | Sequence[int]) -> list[int]:
    """Query terms as uint32 Python ints (msgpack packs numpy scalars not at all)."""
    if isinstance(terms, np.ndarray):
        return terms.astype(np.uint32, copy=False).tolist()
    return [int(t) for t in terms]
