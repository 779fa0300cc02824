"""What the search box was given: an AcoustID or MBID (both UUIDs), or a fingerprint.

A fingerprint may be pasted as ``fpcalc`` prints it in any of its output formats: the
``DURATION=``/``FINGERPRINT=`` lines (a single-line input joins them), ``-json``, or the
compressed string alone; ``-raw`` item lists are accepted too.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

import numpy as np

from libs.chromaprint_cy import constants as C
from libs.chromaprint_cy.codec import FingerprintError, decode_fingerprint, encode_fingerprint

_DURATION = re.compile(r"DURATION=(\d+(?:\.\d+)?)", re.IGNORECASE)
_FINGERPRINT = re.compile(r"FINGERPRINT=([A-Za-z0-9_,\-]+)", re.IGNORECASE)
_RAW = re.compile(r"^\d+(,\s*\d+)+$")


class QueryError(ValueError):
    pass


@dataclass(frozen=True)
class PastedFingerprint:
    fingerprint: str
    """Compressed, as the API takes it."""
    items: int
    duration: float | None
    """From the pasted text; None when only the fingerprint was pasted."""

    @property
    def estimated_duration(self) -> int:
        """The audio length the items cover, which is the file's length for short files."""
        algo = C.algorithm(C.DEFAULT_ALGORITHM)
        samples = algo.delay + self.items * algo.hop
        return max(1, round(samples / C.SAMPLE_RATE))


def parse_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


def _from_json(text: str) -> tuple[str, float | None] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "fingerprint" not in data:
        return None
    duration = data.get("duration")
    fp = data["fingerprint"]
    if isinstance(fp, list):
        fp = ",".join(str(v) for v in fp)
    return str(fp), float(duration) if isinstance(duration, int | float) else None


def _compressed(fp: str) -> tuple[str, int]:
    """The fingerprint in the API's compressed form and its item count."""
    fp = fp.strip()
    if _RAW.match(fp):
        values = [int(v) for v in fp.split(",")]
        if any(v >= 1 << 32 for v in values):
            raise QueryError("A raw fingerprint holds 32-bit numbers only.")
        items = np.array(values, dtype=np.uint64).astype(np.uint32)
        return encode_fingerprint(items), len(items)
    try:
        items, _algorithm = decode_fingerprint(fp)
    except FingerprintError:
        raise QueryError(
            "This is not an AcoustID, a MusicBrainz recording ID or a fingerprint as fpcalc "
            "prints it."
        ) from None
    if not len(items):
        raise QueryError("This fingerprint holds no items.")
    return fp, len(items)


def parse_fingerprint(text: str) -> PastedFingerprint:
    text = text.strip()
    found = _from_json(text) if text.startswith("{") else None
    if found is None:
        match = _FINGERPRINT.search(text)
        duration = _DURATION.search(text)
        fp = match.group(1) if match else text
        found = fp, float(duration.group(1)) if duration else None
    fp, seconds = found
    compressed, count = _compressed(fp)
    return PastedFingerprint(compressed, count, seconds)
