"""The numbers of Chromaprint 1.5.1 and pg_acoustid, kept in one place.

Every stage, the numpy references and the Cython kernels read their parameters from here so that a
constant can never drift between the fast path and the reference it is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 11025
MIN_SAMPLE_RATE = 1000
MIN_FREQ = 28
MAX_FREQ = 3520
NUM_BANDS = 12
CHROMA_FILTER_TAPS = (0.25, 0.75, 1.0, 0.75, 0.25)
NORMALIZER_THRESHOLD = 0.01
SILENCE_THRESHOLD = 50
SILENCE_WINDOW = 55
WINDOW_SCALE = 1.0 / 32767.0
DEFAULT_LENGTH_SECONDS = 120

# Library path (libchromaprint's bundled av_resample): 16 taps per output period, 256 phases.
RESAMPLE_FILTER_SIZE = 16
RESAMPLE_PHASE_SHIFT = 8
RESAMPLE_CUTOFF = 0.8
RESAMPLE_KAISER_BETA = 9.0
RESAMPLE_BUFFER = 32768

# fpcalc path: the libswresample options fpcalc sets for its "compatible" conversion.
SWR_OPTIONS = {
    "filter_size": 16,
    "phase_shift": 8,
    "linear_interp": 1,
    "cutoff": 0.8,
}

# Quantiser level -> 2-bit Gray code, so neighbouring levels differ in one bit.
GRAY_CODE = (0, 1, 3, 2)

# The fingerprint of digital silence (every classifier sees ln(1/1) = 0).
SILENCE_ITEM = 627964279

# pg_acoustid / acoustid-server query and comparison constants.
QUERY_START = 80
QUERY_LENGTH = 120
QUERY_MASK = 0xFFFFFFF0
MATCH_SHIFT = 18
MATCH_KEYS = 1 << (32 - MATCH_SHIFT)

# (type, y, height, width, t0, t1, t2); row 0 ends up in the two most significant bits.
_TEST1 = (
    (0, 0, 3, 15, 2.10543, 2.45354, 2.69414),
    (1, 0, 4, 14, -0.345922, 0.0463746, 0.446251),
    (1, 4, 4, 11, -0.392132, 0.0291077, 0.443391),
    (3, 0, 4, 14, -0.192851, 0.00583535, 0.204053),
    (2, 8, 2, 4, -0.0771619, -0.00991999, 0.0575406),
    (5, 6, 2, 15, -0.710437, -0.518954, -0.330402),
    (1, 9, 2, 16, -0.353724, -0.0189719, 0.289768),
    (3, 4, 2, 10, -0.128418, -0.0285697, 0.0591791),
    (3, 9, 2, 16, -0.139052, -0.0228468, 0.0879723),
    (2, 1, 3, 6, -0.133562, 0.00669205, 0.155012),
    (3, 3, 6, 2, -0.0267, 0.00804829, 0.0459773),
    (2, 8, 1, 10, -0.0972417, 0.0152227, 0.129003),
    (3, 4, 4, 14, -0.141434, 0.00374515, 0.149935),
    (5, 4, 2, 15, -0.64035, -0.466999, -0.285493),
    (5, 9, 2, 3, -0.322792, -0.254258, -0.174278),
    (2, 1, 8, 4, -0.0741375, -0.00590933, 0.0600357),
)

_TEST2 = (
    (0, 4, 3, 15, 1.98215, 2.35817, 2.63523),
    (4, 4, 6, 15, -1.03809, -0.651211, -0.282167),
    (1, 0, 4, 16, -0.298702, 0.119262, 0.558497),
    (3, 8, 2, 12, -0.105439, 0.0153946, 0.135898),
    (3, 4, 4, 8, -0.142891, 0.0258736, 0.200632),
    (4, 0, 3, 5, -0.826319, -0.590612, -0.368214),
    (1, 2, 2, 9, -0.557409, -0.233035, 0.0534525),
    (2, 7, 3, 4, -0.0646826, 0.00620476, 0.0784847),
    (2, 6, 2, 16, -0.192387, -0.029699, 0.215855),
    (2, 1, 3, 2, -0.0397818, -0.00568076, 0.0292026),
    (5, 10, 1, 15, -0.53823, -0.369934, -0.190235),
    (3, 6, 2, 10, -0.124877, 0.0296483, 0.139239),
    (2, 1, 1, 14, -0.101475, 0.0225617, 0.231971),
    (3, 5, 6, 4, -0.0799915, -0.00729616, 0.063262),
    (1, 9, 2, 12, -0.272556, 0.019424, 0.302559),
    (3, 4, 2, 14, -0.164292, -0.0321188, 0.0846339),
)


@dataclass(frozen=True)
class Algorithm:
    """One of Chromaprint's five configurations; `id` is the byte stored in compressed prints."""

    id: int
    name: str
    frame_size: int
    hop: int
    classifiers: tuple[tuple[float, ...], ...]
    remove_silence: bool = False

    @property
    def overlap(self) -> int:
        return self.frame_size - self.hop

    @property
    def max_width(self) -> int:
        return max(int(c[3]) for c in self.classifiers)

    @property
    def delay(self) -> int:
        """Samples of look-ahead before the first item, as `chromaprint_get_delay` reports it."""
        taps = len(CHROMA_FILTER_TAPS)
        return ((taps - 1) + (self.max_width - 1)) * self.hop + self.overlap

    @property
    def min_bin(self) -> int:
        return max(1, _c_round(self.frame_size * MIN_FREQ / SAMPLE_RATE))

    @property
    def max_bin(self) -> int:
        """One past the last FFT bin that feeds the chroma bands."""
        return min(self.frame_size // 2, _c_round(self.frame_size * MAX_FREQ / SAMPLE_RATE))

    def filter_table(self) -> np.ndarray:
        """(type, y, height, width) per classifier as int32, the layout the kernels read."""
        import numpy as np  # here, not at the top: fpcalc's option parsing reads this module

        return np.array([c[:4] for c in self.classifiers], dtype=np.int32)

    def threshold_table(self) -> np.ndarray:
        import numpy as np

        return np.array([c[4:] for c in self.classifiers], dtype=np.float64)


def _c_round(x: float) -> int:
    """C's round(): half away from zero, unlike Python's banker's rounding."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


ALGORITHMS = (
    Algorithm(0, "TEST1", 4096, 1365, _TEST1),
    Algorithm(1, "TEST2", 4096, 1365, _TEST2),
    Algorithm(2, "TEST3", 4096, 4096, _TEST2),
    Algorithm(3, "TEST4", 4096, 1365, _TEST2, remove_silence=True),
    Algorithm(4, "TEST5", 2048, 1024, _TEST2),
)
DEFAULT_ALGORITHM = 1


def algorithm(algorithm_id: int) -> Algorithm:
    if not 0 <= algorithm_id < len(ALGORITHMS):
        raise ValueError(f"unknown Chromaprint algorithm {algorithm_id} (expected 0..4)")
    return ALGORITHMS[algorithm_id]
