"""Typing stub of the compiled radix sort (see radix.pyx)."""

import numpy as np

def sort_keys(keys_in: np.ndarray) -> np.ndarray: ...
