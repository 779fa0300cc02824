# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Hot loops of the fingerprint core; each mirrors one function of `reference.py`.

Loops run sequentially in the reference implementation's order so floating-point results are
identical to Chromaprint's, and release the GIL so several streams can be fingerprinted at once.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport log, sqrt
from libc.stdint cimport int16_t, int32_t, uint32_t

cnp.import_array()



def window_frames(const int16_t[::1] samples, Py_ssize_t first, Py_ssize_t count, Py_ssize_t hop,
                  const double[::1] window, double[:, ::1] out):
    cdef Py_ssize_t f, i, size = window.shape[0], base
    with nogil:
        for f in range(count):
            base = (first + f) * hop
            for i in range(size):
                out[f, i] = samples[base + i] * window[i]


def power_spectrum(const double complex[:, ::1] spectrum, double[:, ::1] out):
    cdef Py_ssize_t f, k
    cdef double re, im
    with nogil:
        for f in range(spectrum.shape[0]):
            for k in range(spectrum.shape[1]):
                re = spectrum[f, k].real
                im = spectrum[f, k].imag
                out[f, k] = re * re + im * im


def chroma(const double[:, ::1] power, const int32_t[::1] bands, Py_ssize_t lo, Py_ssize_t hi,
           double[:, ::1] out):
    cdef Py_ssize_t f, i, b
    with nogil:
        for f in range(power.shape[0]):
            for b in range(out.shape[1]):
                out[f, b] = 0.0
            for i in range(lo, hi):
                out[f, bands[i]] += power[f, i]


def chroma_filter(const double[:, ::1] rows, const double[::1] taps, double[:, ::1] out):
    cdef Py_ssize_t t, j, b
    cdef double acc
    with nogil:
        for t in range(out.shape[0]):
            for b in range(out.shape[1]):
                acc = 0.0
                for j in range(taps.shape[0]):
                    acc = acc + taps[j] * rows[t + j, b]
                out[t, b] = acc


def normalize(double[:, ::1] rows, double threshold):
    cdef Py_ssize_t t, b, bands = rows.shape[1]
    cdef double total, norm
    with nogil:
        for t in range(rows.shape[0]):
            total = 0.0
            for b in range(bands):
                total = total + rows[t, b] * rows[t, b]
            norm = sqrt(total)
            if norm < threshold:
                for b in range(bands):
                    rows[t, b] = 0.0
            else:
                for b in range(bands):
                    rows[t, b] = rows[t, b] / norm


def integral_image(const double[:, ::1] rows, double[:, ::1] out):
    """Fill rows 1.. of `out` (shape n+1 x 13): row 0 is the previous image row, column 0 is zero."""
    cdef Py_ssize_t t, b
    cdef double run
    with nogil:
        for t in range(rows.shape[0]):
            run = 0.0
            out[t + 1, 0] = 0.0
            for b in range(rows.shape[1]):
                run = run + rows[t, b]
                out[t + 1, b + 1] = run + out[t, b + 1]


cdef inline double area(const double[:, ::1] img, Py_ssize_t r1, Py_ssize_t c1, Py_ssize_t r2,
                        Py_ssize_t c2) noexcept nogil:
    if r1 == r2 or c1 == c2:
        return 0.0
    return img[r2, c2] - img[r1, c2] - img[r2, c1] + img[r1, c1]


cdef inline double filter_value(const double[:, ::1] img, Py_ssize_t x, int kind, int y, int h,
                                int w) noexcept nogil:
    cdef double a, b
    if kind == 0:
        a = area(img, x, y, x + w, y + h)
        b = 0.0
    elif kind == 1:
        a = area(img, x, y + h // 2, x + w, y + h)
        b = area(img, x, y, x + w, y + h // 2)
    elif kind == 2:
        a = area(img, x + w // 2, y, x + w, y + h)
        b = area(img, x, y, x + w // 2, y + h)
    elif kind == 3:
        a = area(img, x, y + h // 2, x + w // 2, y + h) + area(img, x + w // 2, y, x + w, y + h // 2)
        b = area(img, x, y, x + w // 2, y + h // 2) + area(img, x + w // 2, y + h // 2, x + w, y + h)
    elif kind == 4:
        a = area(img, x, y + h // 3, x + w, y + 2 * (h // 3))
        b = area(img, x, y, x + w, y + h // 3) + area(img, x, y + 2 * (h // 3), x + w, y + h)
    else:
        a = area(img, x + w // 3, y, x + 2 * (w // 3), y + h)
        b = area(img, x, y, x + w // 3, y + h) + area(img, x + 2 * (w // 3), y, x + w, y + h)
    return log((1.0 + a) / (1.0 + b))


def classify(const double[:, ::1] img, Py_ssize_t count, const int32_t[:, ::1] filters,
             const double[:, ::1] thresholds, const uint32_t[::1] gray, uint32_t[::1] out):
    """Items for offsets 0..count-1 of a padded image (row 0 and column 0 stand for index -1)."""
    cdef Py_ssize_t x, k
    cdef double v
    cdef uint32_t item, q
    with nogil:
        for x in range(count):
            item = 0
            for k in range(filters.shape[0]):
                v = filter_value(img, x, filters[k, 0], filters[k, 1], filters[k, 2], filters[k, 3])
                if v < thresholds[k, 1]:
                    q = 0 if v < thresholds[k, 0] else 1
                else:
                    q = 2 if v < thresholds[k, 2] else 3
                item = (item << 2) | gray[q]
            out[x] = item


cdef class SilenceRemover:
    """Drops leading silence (TEST4); keeps its state across streams, as the library does."""

    cdef object window_obj
    cdef int16_t[::1] window
    cdef int total, count, offset, threshold
    cdef bint started

    def __cinit__(self, int threshold, int window):
        self.threshold = threshold
        self.window_obj = np.zeros(window, dtype=np.int16)
        self.window = self.window_obj
        self.total = self.count = self.offset = 0
        self.started = False

    def feed(self, const int16_t[::1] samples):
        cdef Py_ssize_t i = 0, n = samples.shape[0], size = self.window.shape[0]
        cdef int16_t v
        if not self.started:
            with nogil:
                while i < n:
                    v = <int16_t>(-samples[i] if samples[i] < 0 else samples[i])
                    self.total += v - self.window[self.offset]
                    self.window[self.offset] = v
                    self.offset = (self.offset + 1) % size
                    if self.count < size:
                        self.count += 1
                    if self.total / self.count > self.threshold:
                        self.started = True
                        break
                    i += 1
        return np.asarray(samples[i:])


ctypedef void (*rdft_calc_t)(void *ctx, float *data) noexcept nogil


def rdft_power(const int16_t[::1] samples, Py_ssize_t first, Py_ssize_t count, Py_ssize_t hop,
               const float[::1] window, size_t ctx, size_t calc, float[::1] scratch,
               double[:, ::1] out):
    """Window, FFT and power spectrum as libchromaprint's avfft back end computes them.

    Everything is float32 like that build: the windowed frame, FFmpeg's own real FFT (called
    through `calc` on `ctx`, so the SIMD kernels and their rounding are the very same), and the
    power `re*re + im*im`. `scratch` must be 64-byte aligned for FFmpeg's SIMD code.
    """
    cdef Py_ssize_t f, i, size = window.shape[0], half = size // 2, base
    cdef rdft_calc_t rdft = <rdft_calc_t>calc
    cdef float *buf = &scratch[0]
    cdef float re, im
    with nogil:
        for f in range(count):
            base = (first + f) * hop
            for i in range(size):
                buf[i] = (<float>samples[base + i]) * window[i]
            rdft(<void *>ctx, buf)
            out[f, 0] = buf[0] * buf[0]
            out[f, half] = buf[1] * buf[1]
            for i in range(1, half):
                re = buf[2 * i]
                im = buf[2 * i + 1]
                out[f, i] = re * re + im * im
