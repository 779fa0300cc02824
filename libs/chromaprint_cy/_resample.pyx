# cython: boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""libchromaprint's own front end: integer downmix and its bundled av_resample, bit for bit.

This is the path pyacoustid and other library users take (native-rate PCM in), so it has to match
the library's integer arithmetic exactly, buffering included.
"""

import numpy as np

cimport numpy as cnp
from libc.math cimport M_PI, ceil, lrintf, sin, sqrt
from libc.stdint cimport int16_t, int32_t, int64_t

cnp.import_array()



def downmix(const int16_t[::1] interleaved, int channels):
    cdef Py_ssize_t frames = interleaved.shape[0] // channels, i
    cdef int c
    cdef int32_t total
    out = np.empty(frames, dtype=np.int16)
    cdef int16_t[::1] o = out
    with nogil:
        if channels == 1:
            for i in range(frames):
                o[i] = interleaved[i]
        elif channels == 2:
            for i in range(frames):
                o[i] = <int16_t>((<int32_t>interleaved[2 * i] + interleaved[2 * i + 1]) / 2)
        else:
            for i in range(frames):
                total = 0
                for c in range(channels):
                    total += interleaved[i * channels + c]
                o[i] = <int16_t>(total / channels)
    return out


cdef double bessel_i0(double x) noexcept nogil:
    cdef double v = 1.0, last = 0.0, t = 1.0
    cdef int i = 1
    x = x * x / 4
    while v != last:
        last = v
        t *= x / (i * i)
        v += t
        i += 1
    return v


def filter_bank(int in_rate, int out_rate, int filter_size, int phase_shift, double cutoff,
                double beta):
    cdef int phases = 1 << phase_shift
    cdef double factor = min(out_rate * cutoff / in_rate, 1.0)
    cdef int taps = max(<int>ceil(filter_size / factor), 1)
    cdef int center = (taps - 1) // 2, ph, i
    cdef double x, y, w, norm, v
    bank = np.empty((phases, taps), dtype=np.int16)
    tab = np.empty(taps, dtype=np.float64)
    cdef int16_t[:, ::1] b = bank
    cdef double[::1] t = tab
    with nogil:
        for ph in range(phases):
            norm = 0.0
            for i in range(taps):
                x = M_PI * ((<double>(i - center)) - (<double>ph) / phases) * factor
                y = 1.0 if x == 0 else sin(x) / x
                w = 2.0 * x / (factor * taps * M_PI)
                y *= bessel_i0(beta * sqrt(max(1 - w * w, 0.0)))
                t[i] = y
                norm += y
            for i in range(taps):
                v = <double>lrintf(<float>(t[i] * 32768 / norm))
                b[ph, i] = <int16_t>min(max(v, -32768.0), 32767.0)
    return bank


cdef class Resampler:
    """Stateful av_resample plus the library's 32768-sample buffering around it."""

    cdef object bank_obj
    cdef const int16_t[:, ::1] bank
    cdef int taps, src_incr, step, step_frac, phase_shift, phase_mask
    cdef Py_ssize_t size
    cdef int64_t index
    cdef int frac
    cdef object buffer_obj
    cdef int16_t[::1] buffer
    cdef Py_ssize_t filled

    def __cinit__(self, int in_rate, int out_rate, const int16_t[:, ::1] bank,
                  Py_ssize_t buffer_size):
        cdef int64_t phases = bank.shape[0]
        self.bank_obj = bank
        self.bank = bank
        self.taps = bank.shape[1]
        self.phase_shift = 0
        while (1 << self.phase_shift) < phases:
            self.phase_shift += 1
        self.phase_mask = phases - 1
        self.size = buffer_size
        self.src_incr = out_rate
        self.step = (in_rate * phases) // out_rate
        self.step_frac = (in_rate * phases) % out_rate
        self.index = -phases * ((self.taps - 1) // 2)
        self.frac = 0
        self.buffer_obj = np.empty(buffer_size, dtype=np.int16)
        self.buffer = self.buffer_obj
        self.filled = 0

    cdef Py_ssize_t run(self, int16_t[::1] out, Py_ssize_t produced) noexcept nogil:
        cdef Py_ssize_t n = self.filled, s, i, k, limit = produced + self.size, remaining
        cdef int64_t index = self.index
        cdef int frac = self.frac, ph, taps = self.taps
        cdef int32_t acc
        cdef const int16_t *src = &self.buffer[0]
        cdef const int16_t *coef
        while produced < limit:
            s = index >> self.phase_shift
            ph = index & self.phase_mask
            coef = &self.bank[ph, 0]
            acc = 0
            if s < 0:
                for i in range(taps):
                    k = s + i
                    acc += src[(-k if k < 0 else k) % n] * coef[i]
            elif s + taps > n:
                break
            else:
                for i in range(taps):
                    acc += src[s + i] * coef[i]
            acc = (acc + 16384) >> 15
            out[produced] = <int16_t>(32767 if acc > 32767 else (-32768 if acc < -32768 else acc))
            produced += 1
            frac += self.step_frac
            index += self.step
            if frac >= self.src_incr:
                frac -= self.src_incr
                index += 1
        s = (index if index > 0 else 0) >> self.phase_shift
        if index >= 0:
            index &= self.phase_mask
        self.index = index
        self.frac = frac
        remaining = n - s
        for i in range(remaining):
            self.buffer[i] = self.buffer[s + i]
        self.filled = remaining if remaining > 0 else 0
        return produced

    def feed(self, const int16_t[::1] samples):
        cdef Py_ssize_t n = samples.shape[0], pos = 0, take, i, produced = 0, size = self.size
        # Each full buffer yields at most `size` outputs; size the output for the worst case.
        out = np.empty((n // size + 2) * size, dtype=np.int16)
        cdef int16_t[::1] o = out
        with nogil:
            while pos < n:
                take = min(size - self.filled, n - pos)
                for i in range(take):
                    self.buffer[self.filled + i] = samples[pos + i]
                self.filled += take
                pos += take
                if self.filled == size:
                    produced = self.run(o, produced)
        return out[:produced]

    def finish(self):
        out = np.empty(self.size, dtype=np.int16)
        cdef Py_ssize_t produced = 0
        if self.filled:
            produced = self.run(out, 0)
        self.filled = 0
        return out[:produced]
