"""Typing stub of the compiled search kernel (see kernel.pyx for why it is shaped so)."""

from typing import Any

import numpy as np

MAX_WIDTH: int
PADDING: int

class SearchTimeout(Exception): ...

def key_stats(keys: np.ndarray) -> tuple[int, int]: ...
def encode_postings(
    keys: np.ndarray, shift: int, term_bits: int, suffix_bits: int, id_bits: int, min_id: int
) -> tuple[np.ndarray, np.ndarray]: ...
def decode_keys(view: SegmentView) -> np.ndarray: ...

class SegmentView:
    offsets_array: Any
    packed_array: Any
    docs_array: Any
    width: int
    shift: int
    term_bits: int
    suffix_bits: int
    id_bits: int
    min_id: int
    max_id: int
    def __init__(
        self,
        offsets: np.ndarray,
        packed: np.ndarray,
        docs: np.ndarray,
        shift: int,
        term_bits: int,
        suffix_bits: int,
        id_bits: int,
        min_id: int,
    ) -> None: ...
    @property
    def num_postings(self) -> int: ...

def search(
    segments: list[SegmentView],
    query: Any,
    floor: int,
    score_pct: int,
    limit: int,
    timeout: float = 0.0,
    max_per_term: int = 0,
) -> tuple[np.ndarray, np.ndarray, int]: ...
