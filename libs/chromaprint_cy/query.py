"""Index terms of a fingerprint (`acoustid_extract_query`), shared by the index and lookups."""

from __future__ import annotations

import numpy as np

from . import _compare
from . import constants as C
from .compare import _as_items


def extract_query(items: np.ndarray) -> np.ndarray:
    """Up to 120 distinct top-28-bit terms from item 80 on (earlier if short), silence skipped.

    Documents and queries must use the very same terms, so this follows pg_acoustid exactly,
    including that the start index is derived from the non-silent count but applied to the raw list.
    """
    return np.asarray(
        _compare.extract_query(
            _as_items(items), C.SILENCE_ITEM, C.QUERY_MASK, C.QUERY_START, C.QUERY_LENGTH
        )
    )
