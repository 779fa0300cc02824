"""Compressed fingerprints as `fpcalc` prints them and the AcoustID API accepts them."""

from __future__ import annotations

import binascii
import string

import numpy as np

from . import _codec
from . import constants as C


class FingerprintError(ValueError):
    """Raised for any input that is not a valid Chromaprint compressed fingerprint."""


def compress(items: np.ndarray, algorithm: int = C.DEFAULT_ALGORITHM) -> bytes:
    items = np.ascontiguousarray(items, dtype=np.uint32)
    if len(items) >= 1 << 24:
        raise FingerprintError("a compressed fingerprint holds at most 2**24 - 1 items")
    return bytes(_codec.compress(items, algorithm))


def decompress(data: bytes) -> tuple[np.ndarray, int]:
    """(items, algorithm id). Trailing bytes after the streams are ignored, as upstream does."""
    try:
        items, algorithm = _codec.decompress(np.frombuffer(data, dtype=np.uint8))
    except ValueError as exc:
        raise FingerprintError(str(exc)) from None
    return items, int(algorithm)


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding (Chromaprint's variant)."""
    return binascii.b2a_base64(data, newline=False).decode().rstrip("=").translate(_TO_URLSAFE)


def b64decode(text: str | bytes) -> bytes:
    """Strict inverse of `b64encode`; a dangling sixth bit group is ignored like upstream does.

    Bytes-level translate calls check and map the alphabet: a lookup's fingerprint is about
    8 kB of text, and a regular expression over it cost more than decompressing it.
    """
    if isinstance(text, str):
        try:
            text = text.encode("ascii")
        except UnicodeEncodeError:
            raise FingerprintError("fingerprint is not ASCII") from None
    elif not text.isascii():
        raise FingerprintError("fingerprint is not ASCII")
    if text.translate(None, _URLSAFE_ALPHABET):
        raise FingerprintError("fingerprint has characters outside URL-safe base64")
    text = text[: len(text) - (len(text) % 4 == 1)]
    return binascii.a2b_base64(text.translate(_FROM_URLSAFE) + b"=" * (-len(text) % 4))


_TO_URLSAFE = str.maketrans("+/", "-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_URLSAFE_ALPHABET = string.ascii_letters.encode() + string.digits.encode() + b"-_"


def encode_fingerprint(items: np.ndarray, algorithm: int = C.DEFAULT_ALGORITHM) -> str:
    return b64encode(compress(items, algorithm))


def decode_fingerprint(text: str | bytes) -> tuple[np.ndarray, int]:
    return decompress(b64decode(text))
