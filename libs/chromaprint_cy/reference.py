"""Plain numpy/Python models of every stage, written for clarity rather than speed.

They exist to pin the Cython kernels down: each kernel is tested against its model here, and the
models keep the reference implementation's order of floating-point operations (sequential sums,
left-to-right area terms) so agreement is bit-for-bit, not approximate.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np

from . import constants as C
from .fft import FFmpegRDFT


def downmix(interleaved: np.ndarray, channels: int) -> np.ndarray:
    """Library-path downmix: channel sum divided by the count, truncated toward zero."""
    frames = len(interleaved) // channels
    if channels == 1:
        return np.asarray(interleaved[:frames], dtype=np.int16).copy()
    total = interleaved[: frames * channels].reshape(frames, channels).astype(np.int64).sum(axis=1)
    return (np.sign(total) * (np.abs(total) // channels)).astype(np.int16)


def bessel_i0(x: float) -> float:
    v, last, t, i = 1.0, 0.0, 1.0, 1
    x = x * x / 4
    while v != last:
        last = v
        t *= x / (i * i)
        v += t
        i += 1
    return v


def resample_filter_length(in_rate: int) -> int:
    factor = min(C.SAMPLE_RATE * C.RESAMPLE_CUTOFF / in_rate, 1.0)
    return max(math.ceil(C.RESAMPLE_FILTER_SIZE / factor), 1)


def resample_filter_bank(in_rate: int) -> np.ndarray:
    """The library resampler's int16 Kaiser-windowed sinc bank, one row per phase."""
    factor = min(C.SAMPLE_RATE * C.RESAMPLE_CUTOFF / in_rate, 1.0)
    taps = resample_filter_length(in_rate)
    phases = 1 << C.RESAMPLE_PHASE_SHIFT
    center = (taps - 1) // 2
    bank = np.empty((phases, taps), dtype=np.int16)
    for ph in range(phases):
        row = []
        norm = 0.0
        for i in range(taps):
            x = math.pi * ((i - center) - ph / phases) * factor
            y = 1.0 if x == 0 else math.sin(x) / x
            w = 2.0 * x / (factor * taps * math.pi)
            y *= bessel_i0(C.RESAMPLE_KAISER_BETA * math.sqrt(max(1 - w * w, 0.0)))
            row.append(y)
            norm += y
        for i, y in enumerate(row):
            v = float(np.rint(np.float32(y * 32768 / norm)))
            bank[ph, i] = int(min(max(v, -32768), 32767))
    return bank


def resample(samples: np.ndarray, in_rate: int) -> np.ndarray:
    """The library path's resampler over a whole stream, with its 32768-sample buffering.

    The buffering is part of the result: the final call can emit at most one buffer of output,
    which is why upsampled streams lose audio at the very end.
    """
    samples = np.asarray(samples, dtype=np.int16)
    if in_rate == C.SAMPLE_RATE:
        return samples.copy()
    bank = resample_filter_bank(in_rate).astype(np.int64)
    taps = bank.shape[1]
    phases = 1 << C.RESAMPLE_PHASE_SHIFT
    src_incr, dst_incr = C.SAMPLE_RATE, in_rate * phases
    step, step_frac = dst_incr // src_incr, dst_incr % src_incr
    state = {"index": -phases * ((taps - 1) // 2), "frac": 0}
    out: list[int] = []

    def run(buf: np.ndarray) -> int:
        n = len(buf)
        index, frac = state["index"], state["frac"]
        for _ in range(C.RESAMPLE_BUFFER):
            s, ph = index >> C.RESAMPLE_PHASE_SHIFT, index & (phases - 1)
            if s < 0:
                acc = sum(int(buf[abs(s + i) % n]) * int(bank[ph, i]) for i in range(taps))
            elif s + taps > n:
                break
            else:
                acc = int(np.dot(buf[s : s + taps].astype(np.int64), bank[ph]))
            out.append(min(max((acc + 16384) >> 15, -32768), 32767))
            frac += step_frac
            index += step
            if frac >= src_incr:
                frac -= src_incr
                index += 1
        consumed = max(index, 0) >> C.RESAMPLE_PHASE_SHIFT
        if index >= 0:
            index &= phases - 1
        state["index"], state["frac"] = index, frac
        return consumed

    pending = samples
    buffer = np.empty(0, dtype=np.int16)
    while len(pending):
        take = C.RESAMPLE_BUFFER - len(buffer)
        buffer, pending = np.concatenate([buffer, pending[:take]]), pending[take:]
        if len(buffer) == C.RESAMPLE_BUFFER:
            buffer = buffer[run(buffer) :]
    if len(buffer):
        run(buffer)
    return np.array(out, dtype=np.int16)


def remove_silence(samples: np.ndarray, threshold: int = C.SILENCE_THRESHOLD) -> np.ndarray:
    """Drop leading samples until a 55-sample moving average of |x| exceeds the threshold."""
    window = np.zeros(C.SILENCE_WINDOW, dtype=np.int16)
    total = count = offset = 0
    for i, x in enumerate(np.asarray(samples, dtype=np.int16)):
        v = int(np.int16(np.int32(abs(int(x))).astype(np.int16)))
        total += v - int(window[offset])
        window[offset] = v
        offset = (offset + 1) % C.SILENCE_WINDOW
        count = min(count + 1, C.SILENCE_WINDOW)
        if int(total / count) > threshold:
            return np.asarray(samples[i:], dtype=np.int16)
    return np.empty(0, dtype=np.int16)


def frames(samples: np.ndarray, size: int, hop: int) -> np.ndarray:
    n = 0 if len(samples) < size else (len(samples) - size) // hop + 1
    idx = np.arange(size)[None, :] + hop * np.arange(n)[:, None]
    return np.asarray(samples, dtype=np.int16)[idx]


def hamming_window(size: int) -> np.ndarray:
    """In double with libm's cos, as the library computes it before storing it."""
    return np.array(
        [
            C.WINDOW_SCALE * (0.54 - 0.46 * math.cos(i * 2.0 * math.pi / (size - 1)))
            for i in range(size)
        ]
    )


def power_spectrum(frames_: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Float64 spectrum (the FFTW-style back end)."""
    spectrum = np.fft.rfft(frames_.astype(np.float64) * window, axis=1)
    return spectrum.real * spectrum.real + spectrum.imag * spectrum.imag


def power_spectrum_avfft(frames_: np.ndarray, window: np.ndarray, rdft: FFmpegRDFT) -> np.ndarray:
    """Float32 spectrum as the avfft back end computes it, through FFmpeg's packed real FFT."""
    calc = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)(rdft.calc)
    half = frames_.shape[1] // 2
    out = np.empty((len(frames_), half + 1))
    buf = rdft.scratch
    for f, frame in enumerate(frames_):
        buf[:] = frame.astype(np.float32) * window.astype(np.float32)
        calc(rdft.ctx, buf.ctypes.data)
        re, im = buf[2::2], buf[3::2]
        out[f, 0] = buf[0] * buf[0]
        out[f, half] = buf[1] * buf[1]
        out[f, 1:half] = re * re + im * im
    return out


def band_of_bin(frame_size: int) -> np.ndarray:
    """Chroma band of every FFT bin (-1 outside the 28..3520 Hz range)."""
    bands = np.full(frame_size // 2 + 1, -1, dtype=np.int32)
    lo = max(1, _c_round(frame_size * C.MIN_FREQ / C.SAMPLE_RATE))
    hi = min(frame_size // 2, _c_round(frame_size * C.MAX_FREQ / C.SAMPLE_RATE))
    for i in range(lo, hi):
        octave = math.log(i * C.SAMPLE_RATE / frame_size / 27.5) / math.log(2.0)
        bands[i] = int(C.NUM_BANDS * (octave - math.floor(octave)))
    return bands


def _c_round(x: float) -> int:
    return math.floor(x + 0.5)


def chroma(power: np.ndarray, bands: np.ndarray) -> np.ndarray:
    out = np.zeros((power.shape[0], C.NUM_BANDS))
    for i in np.flatnonzero(bands >= 0):
        out[:, bands[i]] += power[:, i]
    return out


def chroma_filter(rows: np.ndarray) -> np.ndarray:
    taps = len(C.CHROMA_FILTER_TAPS)
    n = max(rows.shape[0] - taps + 1, 0)
    out = np.zeros((n, C.NUM_BANDS))
    for j, c in enumerate(C.CHROMA_FILTER_TAPS):
        out = out + c * rows[j : j + n]
    return out


def normalize(rows: np.ndarray) -> np.ndarray:
    total = np.zeros(rows.shape[0])
    for b in range(rows.shape[1]):
        total = total + rows[:, b] * rows[:, b]
    norm = np.sqrt(total)
    small = norm < C.NORMALIZER_THRESHOLD
    out = rows / np.where(small, 1.0, norm)[:, None]
    out[small] = 0.0
    return out


def integral_image(rows: np.ndarray) -> np.ndarray:
    return np.cumsum(np.cumsum(rows, axis=1), axis=0)


def _area(image: np.ndarray, r1: int, c1: int, r2: int, c2: int) -> float:
    if r1 == r2 or c1 == c2:
        return 0.0
    value = image[r2 - 1, c2 - 1]
    if r1 > 0:
        value -= image[r1 - 1, c2 - 1]
    if c1 > 0:
        value -= image[r2 - 1, c1 - 1]
    if r1 > 0 and c1 > 0:
        value += image[r1 - 1, c1 - 1]
    return float(value)


def filter_value(image: np.ndarray, x: int, ftype: int, y: int, h: int, w: int) -> float:
    def a(dx1: int, dy1: int, dx2: int, dy2: int) -> float:
        return _area(image, x + dx1, y + dy1, x + dx2, y + dy2)

    if ftype == 0:
        pos, neg = a(0, 0, w, h), 0.0
    elif ftype == 1:
        pos, neg = a(0, h // 2, w, h), a(0, 0, w, h // 2)
    elif ftype == 2:
        pos, neg = a(w // 2, 0, w, h), a(0, 0, w // 2, h)
    elif ftype == 3:
        pos = a(0, h // 2, w // 2, h) + a(w // 2, 0, w, h // 2)
        neg = a(0, 0, w // 2, h // 2) + a(w // 2, h // 2, w, h)
    elif ftype == 4:
        pos = a(0, h // 3, w, 2 * (h // 3))
        neg = a(0, 0, w, h // 3) + a(0, 2 * (h // 3), w, h)
    else:
        pos = a(w // 3, 0, 2 * (w // 3), h)
        neg = a(0, 0, w // 3, h) + a(2 * (w // 3), 0, w, h)
    return math.log((1.0 + pos) / (1.0 + neg))


def quantize(value: float, t0: float, t1: float, t2: float) -> int:
    if value < t1:
        return 0 if value < t0 else 1
    return 2 if value < t2 else 3


def classify(image: np.ndarray, algorithm: C.Algorithm) -> np.ndarray:
    items = []
    for x in range(max(image.shape[0] - algorithm.max_width + 1, 0)):
        item = 0
        for ftype, y, h, w, t0, t1, t2 in algorithm.classifiers:
            value = filter_value(image, x, int(ftype), int(y), int(h), int(w))
            item = (item << 2) | C.GRAY_CODE[quantize(value, t0, t1, t2)]
        items.append(item)
    return np.array(items, dtype=np.uint32)


def fingerprint(
    samples: np.ndarray, algorithm_id: int = C.DEFAULT_ALGORITHM, rdft: FFmpegRDFT | None = None
) -> np.ndarray:
    """Raw fingerprint of 11025 Hz mono int16 samples, stage by stage.

    With `rdft` the spectrum is FFmpeg's float32 one (the avfft build), else float64.
    """
    algo = C.algorithm(algorithm_id)
    if algo.remove_silence:
        samples = remove_silence(samples)
    window = hamming_window(algo.frame_size)
    chunks = frames(samples, algo.frame_size, algo.hop)
    power = power_spectrum_avfft(chunks, window, rdft) if rdft else power_spectrum(chunks, window)
    rows = normalize(chroma_filter(chroma(power, band_of_bin(algo.frame_size))))
    return classify(integral_image(rows), algo)


def fingerprint_pcm(
    interleaved: np.ndarray,
    rate: int,
    channels: int,
    algorithm_id: int = C.DEFAULT_ALGORITHM,
    rdft: FFmpegRDFT | None = None,
) -> np.ndarray:
    """The library API path: downmix, internal resampler, core."""
    return fingerprint(resample(downmix(interleaved, channels), rate), algorithm_id, rdft)


def simhash(items: np.ndarray) -> int:
    bits = (np.asarray(items, dtype=np.uint32)[:, None] >> np.arange(32, dtype=np.uint32)) & 1
    ones = bits.sum(axis=0)
    return int(
        ((ones > len(items) - ones).astype(np.uint64) << np.arange(32, dtype=np.uint64)).sum()
    )


def extract_query(items: np.ndarray) -> np.ndarray:
    items = np.asarray(items, dtype=np.uint32)
    clean = int((items != C.SILENCE_ITEM).sum())
    if clean == 0:
        return np.empty(0, dtype=np.uint32)
    out: list[int] = []
    for v in items[max(0, min(clean - C.QUERY_LENGTH, C.QUERY_START)) :]:
        if len(out) == C.QUERY_LENGTH:
            break
        if v != C.SILENCE_ITEM and int(v) & C.QUERY_MASK not in out:
            out.append(int(v) & C.QUERY_MASK)
    return np.array(out, dtype=np.uint32)


def compare2(a: np.ndarray, b: np.ndarray, maxoffset: int) -> float:
    """pg_acoustid's score; `table` reproduces the C code's shared allocation (see _compare)."""
    a = np.asarray(a, dtype=np.uint32)
    b = np.asarray(b, dtype=np.uint32)
    if not len(a) or not len(b):
        return 0.0
    keys = C.MATCH_KEYS - 1
    table = np.zeros(2 * keys + 1, dtype=np.uint16)
    table[a >> C.MATCH_SHIFT] = np.arange(len(a), dtype=np.uint64).astype(np.uint16)
    table[keys + (b >> C.MATCH_SHIFT)] = np.arange(len(b), dtype=np.uint64).astype(np.uint16)
    apos, bpos = table[:keys].astype(np.int64), table[keys : 2 * keys].astype(np.int64)
    hit = (apos != 0) & (bpos != 0)
    offsets = (apos - bpos)[hit]
    if maxoffset != 0:
        offsets = offsets[(-maxoffset <= offsets) & (offsets <= maxoffset)]
    topcount = topoff = 0
    counts: dict[int, int] = {}
    for off in offsets.tolist():
        counts[off] = counts.get(off, 0) + 1
        if counts[off] > topcount:
            topcount, topoff = counts[off], off
    minsize = min(len(a), len(b)) & ~1
    if topoff < 0:
        b = b[-topoff:]
    else:
        a = a[topoff:]
    size = min(len(a), len(b)) // 2
    if size == 0 or minsize == 0:
        return 0.0
    seen = table.view(np.uint8)
    uniq = []
    for x in (a, b):
        seen[:keys] = 0
        count = 0
        for k in (x >> C.MATCH_SHIFT).tolist():
            if not seen[k]:
                seen[k] = 1
                count += 1
        uniq.append(count)
    diversity = np.float32(
        min(
            min(1.0, float(np.float32(uniq[0] + 10) / np.float32(len(a))) + 0.5),
            min(1.0, float(np.float32(uniq[1] + 10) / np.float32(len(b))) + 0.5),
        )
    )
    if topcount < max(uniq) * 0.02:
        return 0.0
    biterror = int(np.unpackbits((a[: 2 * size] ^ b[: 2 * size]).view(np.uint8)).sum())
    score = np.float32((size * 2.0 / minsize) * (1.0 - 2.0 * biterror / (64 * size)))
    score = max(score, np.float32(0.0))
    if diversity < 1.0:
        score = np.float32(math.pow(float(score), 8.0 - 7.0 * float(diversity)))
    return float(score)
