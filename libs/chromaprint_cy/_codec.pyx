# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Chromaprint's compressed fingerprint format (header, 3-bit and 5-bit bit-packed streams).

The decoder validates every length and bit position before it writes, so arbitrary input can only
ever raise `ValueError` (wrapped by `codec.py`) and never read or write out of bounds.
"""

import numpy as np

cimport numpy as cnp
from libc.stdint cimport uint8_t, uint32_t

cnp.import_array()

cdef enum:
    NORMAL_BITS = 3
    EXCEPTION_BITS = 5
    MAX_NORMAL = 7


cdef Py_ssize_t pack(const uint8_t[::1] codes, Py_ssize_t n, int bits, uint8_t[::1] out,
                     Py_ssize_t at) noexcept nogil:
    cdef Py_ssize_t j, bit, nbytes = (n * bits + 7) // 8
    cdef int b
    for j in range(nbytes):
        out[at + j] = 0
    for j in range(n):
        for b in range(bits):
            if (codes[j] >> b) & 1:
                bit = j * bits + b
                out[at + bit // 8] |= 1 << (bit % 8)
    return at + nbytes


cdef inline uint8_t unpack(const uint8_t* data, Py_ssize_t at, Py_ssize_t j,
                           int bits) noexcept nogil:
    """Code ``j`` of a stream of ``bits``-bit codes starting at byte ``at``, LSB first.

    A pointer, not a memoryview (passing one acquires and releases it per call), and one or
    two byte reads per code, not one per bit: decoding a lookup's fingerprint was ~5 % of
    the API's CPU. The second byte is read only when the code reaches into it, so a code
    at the end of the data never reads past it.
    """
    cdef Py_ssize_t bit = j * bits
    cdef const uint8_t* p = data + at + (bit >> 3)
    cdef unsigned int shift = bit & 7
    cdef unsigned int v = p[0] >> shift
    if shift + bits > 8:
        v |= (<unsigned int>p[1]) << (8 - shift)
    return v & ((1u << bits) - 1)


def compress(const uint32_t[::1] items, int algorithm):
    cdef Py_ssize_t n = items.shape[0], i, nn = 0, ne = 0, end
    cdef uint32_t prev = 0, d
    cdef int pos, last
    normal = np.empty(n * 33 + 1, dtype=np.uint8)
    exceptional = np.empty(n * 32 + 1, dtype=np.uint8)
    cdef uint8_t[::1] nc = normal, ec = exceptional
    with nogil:
        for i in range(n):
            d = items[i] ^ prev
            prev = items[i]
            last = 0
            pos = 1
            while d:
                if d & 1:
                    if pos - last >= MAX_NORMAL:
                        nc[nn] = MAX_NORMAL
                        ec[ne] = pos - last - MAX_NORMAL
                        ne += 1
                    else:
                        nc[nn] = pos - last
                    nn += 1
                    last = pos
                d >>= 1
                pos += 1
            nc[nn] = 0
            nn += 1
    result = np.empty(4 + (nn * NORMAL_BITS + 7) // 8 + (ne * EXCEPTION_BITS + 7) // 8, np.uint8)
    cdef uint8_t[::1] out = result
    out[0] = algorithm & 0xFF
    out[1] = (n >> 16) & 0xFF
    out[2] = (n >> 8) & 0xFF
    out[3] = n & 0xFF
    with nogil:
        end = pack(nc, nn, NORMAL_BITS, out, 4)
        pack(ec, ne, EXCEPTION_BITS, out, end)
    return result.tobytes()


def decompress(const uint8_t[::1] data):
    """Return (items, algorithm); raise ValueError on anything the format does not allow."""
    cdef Py_ssize_t size = data.shape[0], count, total, used = 0, zeros = 0, sevens = 0
    cdef Py_ssize_t exc_at, i, e = 0, k = 0
    cdef uint8_t code
    cdef int pos
    cdef uint32_t delta = 0, prev = 0
    if size < 4:
        raise ValueError("fingerprint shorter than its 4-byte header")
    cdef const uint8_t* raw = &data[0]
    count = (<Py_ssize_t>data[1] << 16) | (<Py_ssize_t>data[2] << 8) | data[3]
    total = (size - 4) * 8 // NORMAL_BITS
    with nogil:
        while zeros < count and used < total:
            code = unpack(raw, 4, used, NORMAL_BITS)
            used += 1
            if code == 0:
                zeros += 1
            elif code == MAX_NORMAL:
                sevens += 1
    if zeros < count:
        raise ValueError(f"fingerprint truncated: {zeros} of {count} items present")
    exc_at = 4 + (used * NORMAL_BITS + 7) // 8
    if size < exc_at + (sevens * EXCEPTION_BITS + 7) // 8:
        raise ValueError("fingerprint truncated in its exceptional-bits stream")
    items = np.empty(count, dtype=np.uint32)
    cdef uint32_t[::1] out = items
    cdef bint bad = False
    with nogil:
        pos = 0
        for i in range(used):
            code = unpack(raw, 4, i, NORMAL_BITS)
            if code == 0:
                prev ^= delta
                out[k] = prev
                k += 1
                delta = 0
                pos = 0
                continue
            if code == MAX_NORMAL:
                code = code + unpack(raw, exc_at, e, EXCEPTION_BITS)
                e += 1
            pos += code
            if pos > 32:
                bad = True
                break
            delta |= (<uint32_t>1) << (pos - 1)
    if bad:
        raise ValueError("fingerprint sets a bit beyond position 32")
    return items, data[0]
