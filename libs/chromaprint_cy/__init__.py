"""Chromaprint 1.5.1 re-implemented in Cython: fingerprints identical to fpcalc/libchromaprint,
the compressed codec, and pg_acoustid's compare2/extract_query.

The public surface is re-exported here; the modules hold one concern each (see docs).
"""

from .audio import AudioError, decode_pcm, fingerprint_file
from .codec import (
    FingerprintError,
    compress,
    decode_fingerprint,
    decompress,
    encode_fingerprint,
)
from .compare import TRACK_MAX_OFFSET, compare2, compare2_offset, simhash
from .constants import ALGORITHMS, DEFAULT_ALGORITHM, SILENCE_ITEM
from .fingerprinter import Fingerprinter, fingerprint
from .library import Chromaprint, fingerprint_pcm
from .query import extract_query

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "SILENCE_ITEM",
    "TRACK_MAX_OFFSET",
    "AudioError",
    "Chromaprint",
    "FingerprintError",
    "Fingerprinter",
    "compare2",
    "compare2_offset",
    "compress",
    "decode_fingerprint",
    "decode_pcm",
    "decompress",
    "encode_fingerprint",
    "extract_query",
    "fingerprint",
    "fingerprint_file",
    "fingerprint_pcm",
    "simhash",
]
