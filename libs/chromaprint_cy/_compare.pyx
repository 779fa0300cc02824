# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""pg_acoustid's fingerprint operations, with its integer widths and float32 stores kept.

`compare2` is what every lookup runs on every candidate, so it must return the same float32 as
PostgreSQL's `acoustid_compare2`, bit for bit, including which offset wins a tie.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport pow
from libc.stdint cimport uint8_t, uint16_t, uint32_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cnp.import_array()

cdef enum:
    SHIFT = 18
    KEYS = 16384


cdef inline int popcount(uint32_t x) noexcept nogil:
    return __builtin_popcount(x)


cdef extern from *:
    int __builtin_popcount(unsigned int) nogil


def simhash(const uint32_t[::1] items):
    cdef int counts[32]
    cdef Py_ssize_t i, n = items.shape[0]
    cdef int j
    cdef uint32_t out = 0
    memset(counts, 0, sizeof(counts))
    with nogil:
        for i in range(n):
            for j in range(32):
                if (items[i] >> j) & 1:
                    counts[j] += 1
        for j in range(32):
            if counts[j] > n - counts[j]:
                out |= (<uint32_t>1) << j
    return out


def extract_query(const uint32_t[::1] items, uint32_t silence, uint32_t mask, int start_at,
                  int length):
    cdef Py_ssize_t n = items.shape[0], i, clean = 0, start, found = 0, k
    cdef uint32_t v
    cdef bint dup
    out = np.empty(length, dtype=np.uint32)
    cdef uint32_t[::1] o = out
    with nogil:
        for i in range(n):
            if items[i] != silence:
                clean += 1
        if clean:
            start = max(0, min(clean - length, start_at))
            i = start
            while i < n and found < length:
                if items[i] != silence:
                    v = items[i] & mask
                    dup = False
                    for k in range(found):
                        if o[k] == v:
                            dup = True
                            break
                    if not dup:
                        o[found] = v
                        found += 1
                i += 1
    return out[:found]


cdef int unique_keys(const uint32_t *x, Py_ssize_t n, uint8_t *seen) noexcept nogil:
    """Distinct keys, with pg_acoustid's quirk: only bytes 0..16382 of `seen` are cleared."""
    cdef Py_ssize_t i
    cdef int count = 0
    cdef uint32_t k
    memset(seen, 0, KEYS - 1)
    for i in range(n):
        k = x[i] >> SHIFT
        if not seen[k]:
            seen[k] = 1
            count += 1
    return count


cdef float match(const uint32_t *a, Py_ssize_t asize, const uint32_t *b, Py_ssize_t bsize,
                int maxoffset, uint16_t *counts) noexcept nogil:
    """pg_acoustid's match_fingerprints2, including how its tables overlap in memory.

    The C code keeps both position tables and the `seen` bytes in one allocation: a's key 16383
    lands in b's slot for key 0, and `seen` reuses that memory with its last byte never cleared.
    Reproducing the layout is what makes rare inputs score exactly like PostgreSQL.
    """
    cdef Py_ssize_t i, minsize, size, topcount = 0, topoff = 0, off
    cdef int auniq, buniq, biterror = 0
    cdef float diversity, score
    cdef double ad, bd
    cdef uint16_t table[2 * (KEYS - 1) + 1]
    cdef uint16_t *apos = table
    cdef uint16_t *bpos = table + (KEYS - 1)
    memset(table, 0, sizeof(table))
    for i in range(asize):
        apos[a[i] >> SHIFT] = <uint16_t>i
    for i in range(bsize):
        bpos[b[i] >> SHIFT] = <uint16_t>i
    for i in range(KEYS - 1):
        if apos[i] and bpos[i]:
            off = <Py_ssize_t>apos[i] - bpos[i]
            if maxoffset == 0 or (-maxoffset <= off <= maxoffset):
                counts[off + bsize] += 1
                if counts[off + bsize] > topcount:
                    topcount = counts[off + bsize]
                    topoff = off
    minsize = min(asize, bsize) & ~1
    if topoff < 0:
        off = min(-topoff, bsize)
        b += off
        bsize -= off
    else:
        off = min(topoff, asize)
        a += off
        asize -= off
    size = min(asize, bsize) // 2
    if size == 0 or minsize == 0:
        return 0.0
    auniq = unique_keys(a, asize, <uint8_t *>table)
    buniq = unique_keys(b, bsize, <uint8_t *>table)
    ad = min(1.0, <double>(<float>(auniq + 10) / <float>asize) + 0.5)
    bd = min(1.0, <double>(<float>(buniq + 10) / <float>bsize) + 0.5)
    diversity = <float>min(ad, bd)
    if topcount < max(auniq, buniq) * 0.02:
        return 0.0
    for i in range(2 * size):
        biterror += popcount(a[i] ^ b[i])
    score = <float>((size * 2.0 / minsize) * (1.0 - 2.0 * <double><float>biterror / (64 * size)))
    if score < 0.0:
        score = 0.0
    if diversity < 1.0:
        score = <float>pow(score, 8.0 - 7.0 * <double>diversity)
    return score


def compare2(const uint32_t[::1] a, const uint32_t[::1] b, int maxoffset):
    cdef Py_ssize_t asize = a.shape[0], bsize = b.shape[0]
    cdef float score
    cdef uint16_t *counts
    if asize == 0 or bsize == 0:
        return 0.0
    counts = <uint16_t *>calloc(asize + bsize + 1, sizeof(uint16_t))
    if counts == NULL:
        raise MemoryError()
    with nogil:
        score = match(&a[0], asize, &b[0], bsize, maxoffset, counts)
    free(counts)
    return score
