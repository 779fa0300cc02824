"""Fingerprints drawn as pictures: one row per item, one column per bit, set bits white.

Seeing the bits is how people judge a bad match: two recordings of the same audio show the
same stripes, and their XOR at the right offset is mostly black. Drawn on the server as PNG,
so the page needs no script and the picture can be saved or linked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from libs.chromaprint_cy.compare import compare2_offset

BITS = 32
#: Rows drawn at most; a fingerprint of a whole album would otherwise be a picture
#: hundreds of thousands of pixels tall (fpcalc's default 120 s gives about 950 items).
MAX_ROWS = 4096
CELL_WIDTH = 4
CELL_HEIGHT = 2

BLACK, WHITE, GAP = 0, 255, 96


def item_bits(items: np.ndarray) -> np.ndarray:
    """(rows, 32) array of 0/1; column 0 is the lowest bit, as Chromaprint numbers them."""
    values = np.asarray(items).astype(np.int64) & 0xFFFFFFFF
    return ((values[:, None] >> np.arange(BITS)) & 1).astype(np.uint8)


def _png(pixels: np.ndarray) -> bytes:
    image = Image.fromarray(pixels, "L")
    rows, cols = pixels.shape
    image = image.resize((cols * CELL_WIDTH, rows * CELL_HEIGHT), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def picture_size(rows: int) -> tuple[int, int]:
    """(width, height) in pixels of the picture of ``rows`` items, for the page's <img>."""
    return BITS * CELL_WIDTH, max(1, min(rows, MAX_ROWS)) * CELL_HEIGHT


def fingerprint_png(items: np.ndarray) -> bytes:
    bits = item_bits(np.asarray(items)[:MAX_ROWS])
    if not len(bits):
        return _png(np.full((1, BITS), GAP, np.uint8))
    return _png(np.where(bits == 1, WHITE, BLACK).astype(np.uint8))


@dataclass(frozen=True)
class Alignment:
    """Two fingerprints lined up: ``a[i]`` sits beside ``b[i - offset]``.

    ``offset`` follows compare2: positive when compare2 drops the first items of ``a``,
    negative when it drops those of ``b``. Rows where one side has no item are grey.
    """

    a: np.ndarray
    b: np.ndarray
    offset: int

    @property
    def starts(self) -> tuple[int, int]:
        """The row each fingerprint's first item is drawn on."""
        return max(-self.offset, 0), max(self.offset, 0)

    @property
    def rows(self) -> int:
        start_a, start_b = self.starts
        return max(start_a + len(self.a), start_b + len(self.b))

    @property
    def overlap(self) -> tuple[np.ndarray, np.ndarray]:
        """The items of each side that face an item of the other."""
        skip_a, skip_b = max(self.offset, 0), max(-self.offset, 0)
        n = max(0, min(len(self.a) - skip_a, len(self.b) - skip_b))
        return self.a[skip_a : skip_a + n], self.b[skip_b : skip_b + n]

    @property
    def differing_bits(self) -> int:
        a, b = self.overlap
        xor = (a.astype(np.int64) ^ b.astype(np.int64)) & 0xFFFFFFFF
        return int(item_bits(xor).sum()) if len(xor) else 0

    @property
    def bit_error_rate(self) -> float | None:
        """Share of differing bits over the overlap; None when nothing overlaps."""
        a, _ = self.overlap
        return self.differing_bits / (BITS * len(a)) if len(a) else None

    def _canvas(self) -> np.ndarray:
        return np.full((min(self.rows, MAX_ROWS), BITS), GAP, np.uint8)

    def _place(self, canvas: np.ndarray, start: int, bits: np.ndarray) -> np.ndarray:
        end = min(start + len(bits), len(canvas))
        if end > start:
            canvas[start:end] = np.where(bits[: end - start] == 1, WHITE, BLACK)
        return canvas

    def side_png(self, which: str) -> bytes:
        """The picture of ``a`` or ``b`` with grey rows where the other side starts earlier."""
        items = self.a if which == "a" else self.b
        start = self.starts[0] if which == "a" else self.starts[1]
        return _png(self._place(self._canvas(), start, item_bits(items[:MAX_ROWS])))

    def diff_png(self) -> bytes:
        """White where the two sides differ, black where they agree, grey with no partner."""
        a, b = self.overlap
        xor = (a.astype(np.int64) ^ b.astype(np.int64)) & 0xFFFFFFFF
        start = max(self.starts)
        return _png(self._place(self._canvas(), start, item_bits(xor[:MAX_ROWS])))


def max_offset(a: np.ndarray, b: np.ndarray) -> int:
    """The largest shift that still leaves one item facing another."""
    return max(len(a), len(b))


def best_alignment(a: np.ndarray, b: np.ndarray, maxoffset: int) -> tuple[float, Alignment]:
    """compare2's score and the alignment it chose, to preselect on the compare page."""
    score, offset = compare2_offset(a, b, maxoffset)
    return score, Alignment(np.asarray(a), np.asarray(b), offset)
