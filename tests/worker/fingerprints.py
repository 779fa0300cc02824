"""Real fingerprints (what fpcalc printed for the reference clips) and controlled variants."""

from __future__ import annotations

import json
from functools import cache

import numpy as np

from tests.conftest import SHARED


@cache
def clip(name: str) -> np.ndarray:
    data = json.loads((SHARED / "testdata" / "chromaprint" / "expected.json").read_text())
    for entry in data["clips"]:
        if entry["file"].startswith(name):
            return np.asarray(entry["raw"], dtype=np.uint32)
    raise KeyError(name)


def variant(items: np.ndarray, bits_per_item: int, seed: int = 0) -> np.ndarray:
    """Flip ``bits_per_item`` of the low four bits of every item.

    compare2 scores it about ``1 - bits/16`` against the original, while the index terms
    (the top 28 bits) stay the same, so the index still finds the original.
    """
    rng = np.random.default_rng(seed)
    out = items.copy()
    for i in range(len(out)):
        for bit in rng.choice(4, bits_per_item, replace=False):
            out[i] ^= np.uint32(1 << int(bit))
    return out
