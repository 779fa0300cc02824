"""Fingerprints as clients send them: Chromaprint's compressed, URL-safe base64 text."""

from __future__ import annotations

import numpy as np

from libs.chromaprint_cy.codec import FingerprintError, decode_fingerprint
from libs.chromaprint_cy.constants import DEFAULT_ALGORITHM
from libs.common.errors import ErrorCode, WebServiceError


def decode(text: str) -> np.ndarray:
    """The uint32 items of an algorithm-1 fingerprint; anything else is error 3."""
    try:
        items, algorithm = decode_fingerprint(text)
    except (FingerprintError, ValueError, OverflowError, MemoryError):
        raise WebServiceError(ErrorCode.INVALID_FINGERPRINT) from None
    if algorithm != DEFAULT_ALGORITHM or len(items) == 0:
        raise WebServiceError(ErrorCode.INVALID_FINGERPRINT)
    return np.ascontiguousarray(items, dtype=np.uint32)


def as_int4(items: np.ndarray) -> list[int]:
    """Items as the signed int32 values PostgreSQL's ``int4[]`` stores."""
    return [int(v) for v in items.view(np.int32)]
