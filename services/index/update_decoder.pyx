# cython: language_level=3
"""Reads an msgpack ``_update`` body straight into numpy arrays.

Bulk loads send 1000 documents of 120 terms per request; unpacking that with ``msgpack``
makes 120,000 Python ints that are then checked and copied into arrays again, which was the
largest share of the index's CPU per written document. This walker reads the bytes once and
writes ids and terms into preallocated arrays.

It only accepts what it fully understands: a map whose ``c`` holds inserts (``{"i": {"i":
id, "h": [terms]}}``) and deletes (``{"d": {"i": id}}``), with an optional integer or nil
``e``; other keys are skipped. Anything else (``set_metadata``, ``m``, an invalid id or term,
malformed or trailing bytes) returns None, and the caller takes the general path, which gives
the same answer or the named error.
"""

import numpy as np

from libs.common.index_messages import Batch

cimport numpy as cnp
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

cnp.import_array()

cdef Py_ssize_t MAX_TERMS = 4096
cdef uint64_t MAX_ID = 0xFFFFFFFFULL
cdef int MAX_DEPTH = 64


cdef struct Reader:
    const uint8_t* p
    Py_ssize_t pos
    Py_ssize_t n


cdef inline int need(Reader* r, Py_ssize_t k) noexcept nogil:
    return r.pos + k <= r.n


cdef inline uint64_t be(const uint8_t* p, int k) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(k):
        v = (v << 8) | p[i]
    return v


cdef int read_uint(Reader* r, uint64_t* out) noexcept nogil:
    """A non-negative integer of any msgpack width; -1 for anything else."""
    cdef uint8_t b
    cdef int64_t s
    cdef int k
    if not need(r, 1):
        return -1
    b = r.p[r.pos]
    if b <= 0x7F:
        out[0] = b
        r.pos += 1
        return 0
    if 0xCC <= b <= 0xCF:
        k = 1 << (b - 0xCC)
        if not need(r, 1 + k):
            return -1
        out[0] = be(r.p + r.pos + 1, k)
        r.pos += 1 + k
        return 0
    if 0xD0 <= b <= 0xD3:
        k = 1 << (b - 0xD0)
        if not need(r, 1 + k):
            return -1
        s = <int64_t>be(r.p + r.pos + 1, k)
        if k < 8 and (s >> (8 * k - 1)) & 1:
            return -1
        if s < 0:
            return -1
        out[0] = <uint64_t>s
        r.pos += 1 + k
        return 0
    return -1


cdef int read_container(Reader* r, uint8_t fix, uint8_t fixmask, uint8_t wide16,
                        Py_ssize_t* out) noexcept nogil:
    """Length of a map or array header (fix/16/32 forms), or -1 if the byte is not one."""
    cdef uint8_t b
    if not need(r, 1):
        return -1
    b = r.p[r.pos]
    if (b & fixmask) == fix:
        out[0] = b & ~fixmask
        r.pos += 1
        return 0
    if b == wide16 and need(r, 3):
        out[0] = <Py_ssize_t>be(r.p + r.pos + 1, 2)
        r.pos += 3
        return 0
    if b == wide16 + 1 and need(r, 5):
        out[0] = <Py_ssize_t>be(r.p + r.pos + 1, 4)
        r.pos += 5
        return 0
    return -1


cdef inline int read_map(Reader* r, Py_ssize_t* out) noexcept nogil:
    return read_container(r, 0x80, 0xF0, 0xDE, out)


cdef inline int read_array(Reader* r, Py_ssize_t* out) noexcept nogil:
    return read_container(r, 0x90, 0xF0, 0xDC, out)


cdef int read_key(Reader* r) noexcept nogil:
    """A one-letter string key as its character, 0 for any other string, -1 if not a string."""
    cdef uint8_t b
    cdef Py_ssize_t length
    if not need(r, 1):
        return -1
    b = r.p[r.pos]
    if 0xA0 <= b <= 0xBF:
        length = b - 0xA0
        r.pos += 1
    elif b == 0xD9 and need(r, 2):
        length = r.p[r.pos + 1]
        r.pos += 2
    elif b == 0xDA and need(r, 3):
        length = <Py_ssize_t>be(r.p + r.pos + 1, 2)
        r.pos += 3
    elif b == 0xDB and need(r, 5):
        length = <Py_ssize_t>be(r.p + r.pos + 1, 4)
        r.pos += 5
    else:
        return -1
    if not need(r, length):
        return -1
    r.pos += length
    if length == 1 and r.p[r.pos - 1] < 0x80:
        return r.p[r.pos - 1]
    return 0


cdef int skip(Reader* r, int depth) noexcept nogil:
    """Steps over one value of any type; -1 if malformed or nested too deep."""
    cdef uint8_t b
    cdef Py_ssize_t i, count, length
    if depth > MAX_DEPTH or not need(r, 1):
        return -1
    b = r.p[r.pos]
    if b <= 0x7F or b >= 0xE0 or b == 0xC0 or b == 0xC2 or b == 0xC3:
        r.pos += 1
        return 0
    if 0xA0 <= b <= 0xBF or 0xD9 <= b <= 0xDB:
        return 0 if read_key(r) >= 0 else -1
    if 0xCC <= b <= 0xD3:
        length = 1 << ((b - 0xCC) & 3)
    elif b == 0xCA:
        length = 4
    elif b == 0xCB:
        length = 8
    elif 0xD4 <= b <= 0xD8:
        length = 1 + (1 << (b - 0xD4))
    elif 0xC4 <= b <= 0xC6:
        length = 1 << (b - 0xC4)
        if not need(r, 1 + length):
            return -1
        length = length + <Py_ssize_t>be(r.p + r.pos + 1, <int>length)
    elif 0xC7 <= b <= 0xC9:
        length = 1 << (b - 0xC7)
        if not need(r, 1 + length):
            return -1
        length = length + 1 + <Py_ssize_t>be(r.p + r.pos + 1, <int>length)
    elif read_array(r, &count) == 0:
        for i in range(count):
            if skip(r, depth + 1) < 0:
                return -1
        return 0
    elif read_map(r, &count) == 0:
        for i in range(2 * count):
            if skip(r, depth + 1) < 0:
                return -1
        return 0
    else:
        return -1
    if not need(r, 1 + length):
        return -1
    r.pos += 1 + length
    return 0


cdef int read_id(Reader* r, uint64_t* out) noexcept nogil:
    if read_uint(r, out) < 0 or out[0] == 0 or out[0] > MAX_ID:
        return -1
    return 0


cdef int read_change(Reader* r, uint32_t* ids, uint8_t* kinds, uint32_t* lengths,
                     uint32_t* terms, Py_ssize_t* nterms, Py_ssize_t at) noexcept nogil:
    """One ``{"i": {...}}`` or ``{"d": {...}}``; terms append at ``nterms``."""
    cdef Py_ssize_t entries, fields, count, j, k
    cdef int kind, key, seen_id = 0, seen_terms = 0
    cdef uint64_t value
    if read_map(r, &entries) < 0 or entries != 1:
        return -1
    kind = read_key(r)
    if kind != 0x69 and kind != 0x64:  # "i", "d"
        return -1
    if read_map(r, &fields) < 0:
        return -1
    lengths[at] = 0
    kinds[at] = 0 if kind == 0x69 else 1
    for j in range(fields):
        key = read_key(r)
        if key < 0:
            return -1
        if key == 0x69:  # "i"
            if seen_id or read_id(r, &value) < 0:
                return -1
            ids[at] = <uint32_t>value
            seen_id = 1
        elif key == 0x68 and kind == 0x69:  # "h"
            if seen_terms or read_array(r, &count) < 0 or count > MAX_TERMS:
                return -1
            for k in range(count):
                if read_uint(r, &value) < 0 or value > MAX_ID:
                    return -1
                terms[nterms[0] + k] = <uint32_t>value
            nterms[0] += count
            lengths[at] = <uint32_t>count
            seen_terms = 1
        elif skip(r, 1) < 0:
            return -1
    if not seen_id or (kind == 0x69 and not seen_terms):
        return -1
    return 0


def decode(const uint8_t[::1] body):
    """``(batch, expected_version)`` of an ``_update`` body, or None for the general path."""
    cdef Reader r
    cdef Py_ssize_t fields, count = -1, nterms = 0, i, j, changes_at = -1
    cdef int key, seen_expected = 0
    cdef uint64_t expected = 0
    cdef int has_expected = 0
    r.p = &body[0] if body.shape[0] else NULL
    r.pos = 0
    r.n = body.shape[0]
    if r.n == 0 or read_map(&r, &fields) < 0:
        return None
    for i in range(fields):
        key = read_key(&r)
        if key < 0:
            return None
        if key == 0x63:  # "c": remember where it starts, read it once the size is known
            if changes_at >= 0 or read_array(&r, &count) < 0:
                return None
            changes_at = r.pos
            for j in range(count):
                if skip(&r, 1) < 0:
                    return None
        elif key == 0x65:  # "e"
            if seen_expected:
                return None
            seen_expected = 1
            if need(&r, 1) and r.p[r.pos] == 0xC0:
                r.pos += 1
            elif read_uint(&r, &expected) < 0 or expected > <uint64_t>0x7FFFFFFFFFFFFFFF:
                return None
            else:
                has_expected = 1
        elif key == 0x6D:  # "m": metadata is the general path's business
            return None
        elif skip(&r, 1) < 0:
            return None
    if r.pos != r.n or changes_at < 0:
        return None
    if count == 0:
        empty = np.zeros(0, dtype=np.uint32)
        batch = Batch(empty, np.zeros(0, dtype=np.uint8), empty, empty)
        return batch, (int(expected) if has_expected else None)
    ids = np.empty(count, dtype=np.uint32)
    kinds = np.empty(count, dtype=np.uint8)
    lengths = np.empty(count, dtype=np.uint32)
    # Every term takes at least one byte of the body, so this always has room.
    terms = np.empty(r.n // 1 + 1, dtype=np.uint32)
    cdef uint32_t[::1] ids_v = ids, lengths_v = lengths, terms_v = terms
    cdef uint8_t[::1] kinds_v = kinds
    r.pos = changes_at
    with nogil:
        for j in range(count):
            if read_change(&r, &ids_v[0], &kinds_v[0], &lengths_v[0], &terms_v[0], &nterms, j) < 0:
                break
        else:
            j = count
    if j != count:
        return None
    batch = Batch(ids, kinds, lengths, terms[:nterms])
    return batch, (int(expected) if has_expected else None)
