# cython: language_level=3
"""Search kernel: hash-bucket postings over numpy arrays, hit counting with fpindex's rules.

A segment stores each posting ``(term, id)`` as one fixed-width bit-packed value. Terms lose
the trailing zero bits every term of the segment shares (4 for Chromaprint query terms), the
top bits of what is left choose a bucket (``offsets`` holds the bucket starts) and the rest,
the suffix, sits above ``id - min_id`` in the packed value. Inside a bucket values are sorted,
so one term is an equal range found by binary search, and a posting costs
``suffix_bits + id_bits`` bits: under 4 bytes at 1M dense ids, with no decoding pass.
Values are read as unaligned little-endian 64-bit words, so files move between x86-64 and
aarch64 hosts but not to big-endian ones.

Everything that loops runs without the GIL on plain C pointers taken from the arrays first,
so searches of many clients proceed in parallel with each other and with merges.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort
from libc.string cimport memcpy
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

cnp.import_array()

MAX_WIDTH = 56
PADDING = 8


class SearchTimeout(Exception):
    """The search ran past its deadline; the caller answers 503 rather than a partial result."""


cdef inline uint64_t _get(const uint8_t* packed, uint64_t i, int width, uint64_t mask) noexcept nogil:
    cdef uint64_t bit = i * <uint64_t>width
    cdef uint64_t word
    memcpy(&word, packed + (bit >> 3), 8)
    return (word >> (bit & 7)) & mask


def key_stats(const uint64_t[::1] keys):
    """``(or of all terms, max term)`` of sorted ``term << 32 | id`` keys, for the layout."""
    cdef uint64_t combined = 0, top = 0, term
    cdef Py_ssize_t i
    with nogil:
        for i in range(keys.shape[0]):
            term = keys[i] >> 32
            combined |= term
        if keys.shape[0]:
            top = keys[keys.shape[0] - 1] >> 32
    return int(combined), int(top)


def encode_postings(const uint64_t[::1] keys, int shift, int term_bits, int suffix_bits,
                    int id_bits, uint32_t min_id):
    """``(offsets, packed)`` of sorted unique ``term << 32 | id`` keys, in one pass.

    The numpy route needed six temporaries as large as the keys; at 100M postings their
    first-touch page faults cost more than the sort.
    """
    cdef int width = suffix_bits + id_bits
    if width > MAX_WIDTH or suffix_bits > term_bits or shift + term_bits > 32:
        raise ValueError("layout does not fit")
    cdef Py_ssize_t n = keys.shape[0]
    cdef uint64_t nbuckets = (<uint64_t>1) << (term_bits - suffix_bits)
    offsets = np.zeros(nbuckets + 1, dtype=np.uint32)
    packed = np.zeros((n * width + 7) // 8 + PADDING, dtype=np.uint8)
    cdef uint32_t[::1] off = offsets
    cdef uint8_t[::1] buf = packed
    cdef uint64_t suffix_mask = ((<uint64_t>1) << suffix_bits) - 1
    cdef uint64_t e, v, bit, word, b
    cdef uint32_t id
    cdef Py_ssize_t i
    with nogil:
        for i in range(n):
            e = (keys[i] >> 32) >> shift
            id = <uint32_t>(keys[i] & 0xFFFFFFFFu)
            b = e >> suffix_bits
            off[b + 1] += 1
            if width > 0:
                v = ((e & suffix_mask) << id_bits) | <uint64_t>(id - min_id)
                bit = <uint64_t>i * width
                memcpy(&word, &buf[bit >> 3], 8)
                word |= v << (bit & 7)
                memcpy(&buf[bit >> 3], &word, 8)
        for b in range(nbuckets):
            off[b + 1] += off[b]
    return offsets, packed


cdef class SegmentView:
    """The arrays and layout constants of one segment, as the kernel reads them."""

    cdef readonly object offsets_array, packed_array, docs_array
    cdef const uint32_t[::1] offsets
    cdef const uint8_t[::1] packed
    cdef const uint32_t[::1] docs
    cdef readonly int width, shift, term_bits, suffix_bits, id_bits
    cdef readonly uint32_t min_id, max_id

    def __init__(self, offsets, packed, docs, int shift, int term_bits, int suffix_bits,
                 int id_bits, uint32_t min_id):
        if shift < 0 or term_bits < 0 or shift + term_bits > 32:
            raise ValueError("shift + term_bits must fit in 32 bits")
        if suffix_bits < 0 or suffix_bits > term_bits or id_bits < 0 or id_bits > 32:
            raise ValueError("bad suffix_bits or id_bits")
        if suffix_bits + id_bits > MAX_WIDTH:
            raise ValueError("posting wider than the kernel reads")
        self.offsets_array = offsets
        self.packed_array = packed
        self.docs_array = docs
        self.offsets = offsets
        self.packed = packed
        self.docs = docs
        if self.offsets.shape[0] != (1 << (term_bits - suffix_bits)) + 1:
            raise ValueError("offsets length does not match term_bits - suffix_bits")
        cdef uint64_t n = self.offsets[self.offsets.shape[0] - 1]
        self.width = suffix_bits + id_bits
        if <uint64_t>self.packed.shape[0] < (n * self.width + 7) // 8 + PADDING:
            raise ValueError("packed postings shorter than offsets promise")
        self.shift = shift
        self.term_bits = term_bits
        self.suffix_bits = suffix_bits
        self.id_bits = id_bits
        self.min_id = min_id
        self.max_id = docs[len(docs) - 1] if len(docs) else 0

    @property
    def num_postings(self):
        return int(self.offsets[self.offsets.shape[0] - 1])


def decode_keys(SegmentView view):
    """The segment's postings as sorted ``term << 32 | id`` keys (merges and the reference)."""
    cdef uint64_t nb = view.offsets.shape[0] - 1
    cdef uint64_t n = view.offsets[nb]
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] keys = out
    cdef uint64_t mask = ((<uint64_t>1) << view.width) - 1
    cdef uint64_t id_mask = ((<uint64_t>1) << view.id_bits) - 1
    cdef uint64_t b, i, v, e
    with nogil:
        for b in range(nb):
            for i in range(view.offsets[b], view.offsets[b + 1]):
                v = _get(&view.packed[0], i, view.width, mask)
                e = (b << view.suffix_bits) | (v >> view.id_bits)
                keys[i] = ((e << view.shift) << 32) | (view.min_id + (v & id_mask))
    return out


cdef struct Seg:
    const uint32_t* offsets
    const uint8_t* packed
    const uint32_t* docs
    Py_ssize_t num_docs
    int width, shift, term_bits, suffix_bits, id_bits
    uint32_t min_id, max_id


cdef struct Slot:
    uint32_t id
    uint32_t seg
    uint32_t score


cdef struct Table:
    Slot* slots
    uint32_t* used      # slot index of every id inserted, in order: scans and clears in O(size)
    uint64_t cap
    uint64_t size


cdef inline uint64_t _mix(uint32_t x) noexcept nogil:
    cdef uint64_t z = <uint64_t>x + 0x9E3779B97F4A7C15ULL
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef int _alloc(Table* t, uint64_t cap) noexcept nogil:
    t.slots = <Slot*>calloc(cap, sizeof(Slot))
    t.used = <uint32_t*>malloc((cap // 2 + 1) * sizeof(uint32_t))
    t.cap = cap
    t.size = 0
    if t.slots == NULL or t.used == NULL:
        free(t.slots)
        free(t.used)
        t.slots = NULL
        t.used = NULL
        return -1
    return 0


cdef int _grow(Table* t) noexcept nogil:
    cdef Table fresh
    if _alloc(&fresh, t.cap * 2) != 0:
        return -1
    cdef uint64_t k, j
    cdef Slot slot
    for k in range(t.size):
        slot = t.slots[t.used[k]]
        j = _mix(slot.id) & (fresh.cap - 1)
        while fresh.slots[j].id != 0:
            j = (j + 1) & (fresh.cap - 1)
        fresh.slots[j] = slot
        fresh.used[k] = <uint32_t>j
    fresh.size = t.size
    free(t.slots)
    free(t.used)
    t[0] = fresh
    return 0


cdef inline int _hit(Table* t, uint32_t id, uint32_t seg) noexcept nogil:
    """Counts one posting: a newer segment restarts the id's score, an older one is ignored."""
    cdef uint64_t j = _mix(id) & (t.cap - 1)
    while t.slots[j].id != 0:
        if t.slots[j].id == id:
            if t.slots[j].seg == seg:
                t.slots[j].score += 1
            elif t.slots[j].seg < seg:
                t.slots[j].seg = seg
                t.slots[j].score = 1
            return 0
        j = (j + 1) & (t.cap - 1)
    t.slots[j].id = id
    t.slots[j].seg = seg
    t.slots[j].score = 1
    t.used[t.size] = <uint32_t>j
    t.size += 1
    if t.size * 2 > t.cap:
        return _grow(t)
    return 0


# Tables are pooled: a hot query grows its table to ~100k slots, and allocating that afresh
# per search costs more in page faults than the search. Taken and returned with the GIL held.
cdef enum:
    POOL_SIZE = 32
    POOL_MAX_CAP = 1 << 21
    INITIAL_CAP = 4096
cdef Table _pool[POOL_SIZE]
cdef int _pooled = 0


cdef int _take(Table* t):
    global _pooled
    if _pooled > 0:
        _pooled -= 1
        t[0] = _pool[_pooled]
        return 0
    return _alloc(t, INITIAL_CAP)


cdef void _give(Table* t):
    global _pooled
    cdef uint64_t k
    if t.slots == NULL:
        return
    if _pooled < POOL_SIZE and t.cap <= POOL_MAX_CAP:
        for k in range(t.size):
            t.slots[t.used[k]].id = 0
        t.size = 0
        _pool[_pooled] = t[0]
        _pooled += 1
    else:
        free(t.slots)
        free(t.used)


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef int _scan(const Seg* s, uint32_t segno, const uint32_t* query, Py_ssize_t nq, Table* t,
               uint64_t cap, uint64_t* scanned) noexcept nogil:
    cdef uint64_t mask = ((<uint64_t>1) << s.width) - 1
    cdef uint64_t id_mask = ((<uint64_t>1) << s.id_bits) - 1
    cdef uint64_t low = ((<uint64_t>1) << s.shift) - 1
    cdef uint64_t suffix_mask = ((<uint64_t>1) << s.suffix_bits) - 1
    cdef uint64_t e, b, lo, hi, mid, target, stop, v
    cdef Py_ssize_t k
    for k in range(nq):
        if (k > 0 and query[k] == query[k - 1]) or query[k] & low:
            continue
        e = query[k] >> s.shift
        if (e >> s.term_bits) != 0:
            continue
        b = e >> s.suffix_bits
        lo = s.offsets[b]
        hi = s.offsets[b + 1]
        target = (e & suffix_mask) << s.id_bits
        stop = target + id_mask
        while lo < hi:
            mid = (lo + hi) >> 1
            if _get(s.packed, mid, s.width, mask) < target:
                lo = mid + 1
            else:
                hi = mid
        hi = s.offsets[b + 1]
        if cap and hi - lo > cap:
            hi = lo + cap
        while lo < hi:
            v = _get(s.packed, lo, s.width, mask)
            if v > stop:
                break
            if _hit(t, s.min_id + <uint32_t>(v & id_mask), segno) != 0:
                return -1
            scanned[0] += 1
            lo += 1
    return 0


cdef bint _contains(const Seg* s, uint32_t id) noexcept nogil:
    if s.num_docs == 0 or id < s.docs[0] or id > s.docs[s.num_docs - 1]:
        return False
    cdef Py_ssize_t lo = 0, hi = s.num_docs, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if s.docs[mid] < id:
            lo = mid + 1
        else:
            hi = mid
    return lo < s.num_docs and s.docs[lo] == id


cdef int _cmp_u64(const void* a, const void* b) noexcept nogil:
    cdef uint64_t x = (<const uint64_t*>a)[0]
    cdef uint64_t y = (<const uint64_t*>b)[0]
    return (x > y) - (x < y)


cdef inline Py_ssize_t _segment_of(Table* t, uint32_t id) noexcept nogil:
    cdef uint64_t j = _mix(id) & (t.cap - 1)
    while t.slots[j].id != id:
        j = (j + 1) & (t.cap - 1)
    return t.slots[j].seg


def search(list segments, query, uint32_t floor, uint32_t score_pct, Py_ssize_t limit,
           double timeout=0.0, uint64_t max_per_term=0):
    """Ids sharing the most terms with ``query``, best first: ``(ids, scores, scanned)``.

    ``segments`` run oldest to newest; the newest segment holding an id decides its score
    and a tombstone or a newer copy without hits hides it. ``floor`` is the absolute minimum
    score, ``score_pct`` cuts below that share of the top score, ``timeout`` (seconds, 0 for
    none) raises :class:`SearchTimeout`. ``max_per_term`` (0 for no cap) counts only the
    lowest that many ids of a term in each segment, as fpindex caps popular terms: a term in
    a million documents says nothing about which one matches but would cost a million steps.
    """
    # Sorted here, deduplicated in the scan: np.unique took longer than a whole miss search.
    q = np.sort(np.asarray(query, dtype=np.uint32))
    cdef const uint32_t[::1] qv = q
    cdef Py_ssize_t nq = qv.shape[0]
    cdef Py_ssize_t nseg = len(segments)
    cdef Seg* segs = <Seg*>malloc((nseg if nseg > 0 else 1) * sizeof(Seg))
    if segs == NULL:
        raise MemoryError()
    cdef SegmentView view
    cdef Py_ssize_t i
    for i in range(nseg):
        view = <SegmentView?>segments[i]
        segs[i].offsets = &view.offsets[0]
        segs[i].packed = &view.packed[0]
        segs[i].docs = &view.docs[0] if view.docs.shape[0] else NULL
        segs[i].num_docs = view.docs.shape[0]
        segs[i].width = view.width
        segs[i].shift = view.shift
        segs[i].term_bits = view.term_bits
        segs[i].suffix_bits = view.suffix_bits
        segs[i].id_bits = view.id_bits
        segs[i].min_id = view.min_id
        segs[i].max_id = view.max_id
    cdef Table t
    if _take(&t) != 0:
        free(segs)
        raise MemoryError()
    cdef uint64_t scanned = 0
    cdef int status = 0
    cdef double deadline = _now() + timeout if timeout > 0 else 0.0
    cdef uint64_t* cand = NULL
    cdef uint64_t ncand = 0, j
    cdef uint32_t cut = floor, score, id
    cdef Py_ssize_t emitted = 0
    ids = np.zeros(limit if limit > 0 else 0, dtype=np.uint32)
    scores = np.zeros(limit if limit > 0 else 0, dtype=np.uint32)
    cdef uint32_t[::1] out_ids = ids
    cdef uint32_t[::1] out_scores = scores
    cdef bint first = True, shadowed
    cdef Slot slot
    cdef Py_ssize_t s
    try:
        with nogil:
            for i in range(nseg):
                if deadline > 0 and _now() > deadline:
                    status = -2
                    break
                if nq and _scan(&segs[i], <uint32_t>i, &qv[0], nq, &t, max_per_term, &scanned) != 0:
                    status = -1
                    break
            if status == 0 and limit > 0:
                cand = <uint64_t*>malloc((t.size if t.size > 0 else 1) * sizeof(uint64_t))
                if cand == NULL:
                    status = -1
            if status == 0 and limit > 0:
                for j in range(t.size):
                    slot = t.slots[t.used[j]]
                    if slot.score >= floor:
                        cand[ncand] = ((<uint64_t>(0xFFFFFFFFu - slot.score)) << 32) | slot.id
                        ncand += 1
                qsort(cand, ncand, sizeof(uint64_t), _cmp_u64)
                for j in range(ncand):
                    if emitted >= limit:
                        break
                    score = 0xFFFFFFFFu - <uint32_t>(cand[j] >> 32)
                    id = <uint32_t>(cand[j] & 0xFFFFFFFFu)
                    if score < cut:
                        break
                    shadowed = False
                    for s in range(_segment_of(&t, id) + 1, nseg):
                        if _contains(&segs[s], id):
                            shadowed = True
                            break
                    if shadowed:
                        continue
                    out_ids[emitted] = id
                    out_scores[emitted] = score
                    emitted += 1
                    if first:
                        first = False
                        if <uint64_t>score * score_pct // 100 > cut:
                            cut = <uint32_t>(<uint64_t>score * score_pct // 100)
    finally:
        free(cand)
        _give(&t)
        free(segs)
    if status == -1:
        raise MemoryError()
    if status == -2:
        raise SearchTimeout()
    return ids[:emitted], scores[:emitted], scanned
