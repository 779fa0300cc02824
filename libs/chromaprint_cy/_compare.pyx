# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""pg_acoustid's fingerprint operations, with its integer widths and float32 stores kept.

`compare2` is what every lookup runs on every candidate, so it must return the same float32 as
PostgreSQL's `acoustid_compare2`, bit for bit, including which offset wins a tie.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport pow
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset

cnp.import_array()

# Table sizes must be known at compile time; test_kernels checks them against constants.py.
cdef enum:
    SHIFT = 18
    KEYS = 16384
    WORDS = 256

KEY_SHIFT = SHIFT


cdef extern from *:
    """
    #if defined(__GNUC__) && defined(__x86_64__)
    __attribute__((target("popcnt")))
    static int bit_errors_popcnt(const uint32_t *a, const uint32_t *b, Py_ssize_t n) {
        int total = 0;
        for (Py_ssize_t i = 0; i < n; i++) total += __builtin_popcount(a[i] ^ b[i]);
        return total;
    }
    __attribute__((target("popcnt")))
    static int count_bits_popcnt(const uint64_t *w, Py_ssize_t n) {
        int total = 0;
        for (Py_ssize_t i = 0; i < n; i++) total += __builtin_popcountll(w[i]);
        return total;
    }
    #define HAVE_POPCNT_TARGET 1
    #else
    #define HAVE_POPCNT_TARGET 0
    static int bit_errors_popcnt(const uint32_t *a, const uint32_t *b, Py_ssize_t n) {
        return 0;
    }
    static int count_bits_popcnt(const uint64_t *w, Py_ssize_t n) {
        return 0;
    }
    #endif
    static int cpu_has_popcnt(void) {
    #if HAVE_POPCNT_TARGET
        __builtin_cpu_init();
        return __builtin_cpu_supports("popcnt");
    #else
        return 0;
    #endif
    }
    """
    int __builtin_popcount(unsigned int) nogil
    int __builtin_popcountll(unsigned long long) nogil
    int count_bits_popcnt(const uint64_t *w, Py_ssize_t n) nogil
    int __builtin_ctzll(unsigned long long) nogil
    int bit_errors_popcnt(const uint32_t *a, const uint32_t *b, Py_ssize_t n) nogil
    int cpu_has_popcnt() nogil


cdef bint HAS_POPCNT = cpu_has_popcnt()


cdef int count_bits(const uint64_t *words, Py_ssize_t n) noexcept nogil:
    if HAS_POPCNT:
        return count_bits_popcnt(words, n)
    cdef Py_ssize_t i
    cdef int total = 0
    for i in range(n):
        total += __builtin_popcountll(words[i])
    return total


cdef Py_ssize_t last_index(const uint32_t *x, Py_ssize_t n, uint32_t key,
                           const uint64_t *bits) noexcept nogil:
    """Index of the last item with the key, or -1; `bits` says whether there is one at all."""
    cdef Py_ssize_t i
    if not (bits[WORDS - 1] >> 63):
        return -1
    for i in range(n - 1, -1, -1):
        if x[i] >> SHIFT == key:
            return i
    return -1


cdef int bit_errors(const uint32_t *a, const uint32_t *b, Py_ssize_t n) noexcept nogil:
    """Differing bits between two aligned runs; uses the POPCNT instruction when the CPU has it."""
    cdef Py_ssize_t i
    cdef int total = 0
    if HAS_POPCNT:
        return bit_errors_popcnt(a, b, n)
    for i in range(n):
        total += __builtin_popcount(a[i] ^ b[i])
    return total


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


cdef int distinct_keys(const uint32_t *x, Py_ssize_t n, Py_ssize_t skip, const uint64_t *bits,
                       const uint16_t *last) noexcept nogil:
    """Distinct keys of x[skip:], key 16383 aside (it depends on pg_acoustid's memory reuse).

    Derived from the bitmap of all of x: a key is lost by skipping the prefix exactly when its
    last occurrence lies in the prefix, which `last` (the position table) tells.
    """
    cdef Py_ssize_t i
    cdef uint32_t k
    cdef uint64_t bit
    cdef uint64_t fresh[WORDS]
    if n > 0xFFFF:
        # Positions wrapped around in the uint16 table; recount the suffix directly.
        memset(fresh, 0, sizeof(fresh))
        for i in range(skip, n):
            k = x[i] >> SHIFT
            fresh[k >> 6] |= (<uint64_t>1) << (k & 63)
        return count_bits(fresh, WORDS) - <int>(fresh[WORDS - 1] >> 63)
    cdef int count = count_bits(bits, WORDS) - <int>(bits[WORDS - 1] >> 63)
    for i in range(skip):
        k = x[i] >> SHIFT
        if k != KEYS - 1 and last[k] == i:
            count -= 1
    return count


cdef float match(const uint32_t *a, Py_ssize_t asize, const uint32_t *b, Py_ssize_t bsize,
                int maxoffset, uint16_t *counts, Py_ssize_t *offset) noexcept nogil:
    """pg_acoustid's match_fingerprints2, including how its tables overlap in memory.

    The C code keeps both position tables and the `seen` bytes in one allocation: a's key 16383
    lands in b's slot for key 0, and `seen` reuses that memory with its last byte never cleared.
    Reproducing the layout is what makes rare inputs score exactly like PostgreSQL.
    """
    cdef Py_ssize_t i, minsize, size, topcount = 0, topoff = 0, off
    cdef int auniq, buniq, biterror
    cdef float diversity, score
    cdef double ad, bd
    # Only slots that were written are read back, so the tables need no clearing, except the
    # slot whose high byte the uniqueness pass reads (see below).
    cdef uint16_t table[2 * (KEYS - 1) + 1]
    cdef uint16_t *apos = table
    cdef uint16_t *bpos = table + (KEYS - 1)
    cdef bint last_seen
    cdef Py_ssize_t askip, bskip, alast, blast
    cdef uint64_t abits[WORDS]
    cdef uint64_t bbits[WORDS]
    cdef uint64_t word
    cdef uint32_t k
    cdef Py_ssize_t w
    apos[8191] = 0
    for i in range(asize):
        apos[a[i] >> SHIFT] = <uint16_t>i
    for i in range(bsize):
        bpos[b[i] >> SHIFT] = <uint16_t>i
    # Visit keys present on both sides in ascending order (the order decides ties) without
    # scanning all 16383 slots: a bitmap of the keys written on each side, ANDed word by word.
    memset(abits, 0, sizeof(abits))
    memset(bbits, 0, sizeof(bbits))
    for i in range(asize):
        k = a[i] >> SHIFT
        abits[k >> 6] |= (<uint64_t>1) << (k & 63)
    for i in range(bsize):
        k = b[i] >> SHIFT
        bbits[k >> 6] |= (<uint64_t>1) << (k & 63)
    alast = last_index(a, asize, KEYS - 1, abits)
    blast = last_index(b, bsize, KEYS - 1, bbits)
    if alast >= 0:
        bbits[0] |= 1  # a's key 16383 is stored in b's slot for key 0
    for w in range(WORDS):
        word = abits[w] & bbits[w]
        while word:
            k = (w << 6) + __builtin_ctzll(word)
            word &= word - 1
            if k == KEYS - 1 or not (apos[k] and bpos[k]):
                continue
            off = <Py_ssize_t>apos[k] - bpos[k]
            if maxoffset == 0 or (-maxoffset <= off <= maxoffset):
                counts[off + bsize] += 1
                if counts[off + bsize] > topcount:
                    topcount = counts[off + bsize]
                    topoff = off
    offset[0] = topoff
    minsize = min(asize, bsize) & ~1
    askip = bskip = 0
    if topoff < 0:
        bskip = min(-topoff, bsize)
        b += bskip
        bsize -= bskip
    else:
        askip = min(topoff, asize)
        a += askip
        asize -= askip
    size = min(asize, bsize) // 2
    if size == 0 or minsize == 0:
        return 0.0
    # C counts distinct keys in a byte array laid over the position tables and clears only its
    # first 16383 bytes: key 16383's flag starts as the high byte of a's position for key 8191,
    # and stays set from a's pass into b's.
    last_seen = (apos[8191] >> 8) != 0
    auniq = distinct_keys(a - askip, asize + askip, askip, abits, apos)
    if alast >= askip:
        auniq += not last_seen
        last_seen = True
    buniq = distinct_keys(b - bskip, bsize + bskip, bskip, bbits, bpos)
    if blast >= bskip:
        buniq += not last_seen
    ad = min(1.0, <double>(<float>(auniq + 10) / <float>asize) + 0.5)
    bd = min(1.0, <double>(<float>(buniq + 10) / <float>bsize) + 0.5)
    diversity = <float>min(ad, bd)
    if topcount < max(auniq, buniq) * 0.02:
        return 0.0
    biterror = bit_errors(a, b, 2 * size)
    score = <float>((size * 2.0 / minsize) * (1.0 - 2.0 * <double><float>biterror / (64 * size)))
    if score < 0.0:
        score = 0.0
    if diversity < 1.0:
        score = <float>pow(score, 8.0 - 7.0 * <double>diversity)
    return score


def compare2(const uint32_t[::1] a, const uint32_t[::1] b, int maxoffset):
    """(score, offset): the offset is how many items of a (positive) or b (negative) the
    alignment vote dropped before scoring, 0 when either side is empty."""
    cdef Py_ssize_t asize = a.shape[0], bsize = b.shape[0], offset = 0
    cdef float score
    cdef uint16_t *counts
    if asize == 0 or bsize == 0:
        return 0.0, 0
    counts = <uint16_t *>calloc(asize + bsize + 1, sizeof(uint16_t))
    if counts == NULL:
        raise MemoryError()
    with nogil:
        score = match(&a[0], asize, &b[0], bsize, maxoffset, counts, &offset)
    free(counts)
    return score, offset
