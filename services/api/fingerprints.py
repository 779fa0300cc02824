"""Fingerprints as clients send them, refused in the web service's own terms."""

from __future__ import annotations

import numpy as np

from libs.common import fingerprint_codec
from libs.common.errors import ErrorCode, WebServiceError


def decode(text: str) -> np.ndarray:
    """The uint32 items of an algorithm-1 fingerprint; anything else is error 3."""
    try:
        return fingerprint_codec.from_text(text)
    except fingerprint_codec.InvalidFingerprint:
        raise WebServiceError(ErrorCode.INVALID_FINGERPRINT) from None
