"""Keeps freed segment-building memory from staying resident in the index process.

Building and merging segments allocates arrays of megabytes to gigabytes and frees them soon
after. glibc serves allocations above its mmap threshold from fresh mappings that go back to
the kernel on free, but it raises that threshold to the largest block freed so far (up to
32 MiB), after which such arrays come from the heap and their pages stay resident. Fixing
the threshold keeps the index's resident memory near its segments' size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024


def return_large_blocks_to_the_kernel() -> bool:
    """Fixes glibc's mmap threshold; False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        log.info("not glibc: resident memory may stay above the index's size after merges")
        return False
