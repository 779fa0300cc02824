"""Chromaprint 1.5.1 re-implemented in Cython: fingerprints identical to fpcalc/libchromaprint,
the compressed codec, and pg_acoustid's compare2/extract_query.

The public surface is re-exported here; the modules hold one concern each (see docs). The
re-exports load on first use, so ``acoustid fpcalc -version`` does not import numpy and FFmpeg
just because it lives in this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "audio": ("AudioError", "decode_pcm", "fingerprint_file"),
    "codec": (
        "FingerprintError",
        "compress",
        "decode_fingerprint",
        "decompress",
        "encode_fingerprint",
    ),
    "compare": ("TRACK_MAX_OFFSET", "compare2", "simhash"),
    "constants": ("ALGORITHMS", "DEFAULT_ALGORITHM", "SILENCE_ITEM"),
    "fingerprinter": ("Fingerprinter", "fingerprint"),
    "library": ("Chromaprint", "fingerprint_pcm"),
    "query": ("extract_query",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
