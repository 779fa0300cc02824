"""Audio decoding with PyAV, converted exactly as fpcalc converts it.

fpcalc does not resample with libchromaprint: it has libswresample deliver 11025 Hz mono s16
with a fixed set of options, and never flushes the converter at the end. We decode with PyAV and
drive libswresample through ctypes with the same options. The system's libswresample is preferred
(Debian bookworm's is the FFmpeg 5.1 build fpcalc itself uses, so the samples are identical);
the copy bundled in the PyAV wheel is the fallback, whose newer s16 resampler can differ from
FFmpeg 5.1 by an LSB on resampled 16-bit input.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from typing import Any

import av
import numpy as np

from . import constants as C
from .ffmpeg import AudioError, ffmpeg
from .fingerprinter import Fingerprinter


class Converter:
    """One libswresample context with fpcalc's options; output is s16 interleaved."""

    def __init__(
        self, in_layout: str, in_format: str, in_rate: int, out_layout: str, out_rate: int
    ) -> None:
        lib = ffmpeg()
        self._lib = lib
        self._ctx = ctypes.c_void_p(lib.swr.swr_alloc())
        opt = lib.avutil
        fmt_in = opt.av_get_sample_fmt(in_format.encode())
        fmt_out = opt.av_get_sample_fmt(b"s16")
        checks = [
            opt.av_opt_set(self._ctx, b"in_chlayout", in_layout.encode(), 0),
            opt.av_opt_set(self._ctx, b"out_chlayout", out_layout.encode(), 0),
            opt.av_opt_set_int(self._ctx, b"in_sample_fmt", fmt_in, 0),
            opt.av_opt_set_int(self._ctx, b"out_sample_fmt", fmt_out, 0),
            opt.av_opt_set_int(self._ctx, b"in_sample_rate", in_rate, 0),
            opt.av_opt_set_int(self._ctx, b"out_sample_rate", out_rate, 0),
        ]
        if out_rate != in_rate:
            for name, value in C.SWR_OPTIONS.items():
                if isinstance(value, float):
                    checks.append(opt.av_opt_set_double(self._ctx, name.encode(), value, 0))
                else:
                    checks.append(opt.av_opt_set_int(self._ctx, name.encode(), value, 0))
        if fmt_in < 0 or any(checks) or lib.swr.swr_init(self._ctx) < 0:
            self.close()
            raise AudioError(
                f"Could not create an audio converter instance ({in_format} {in_layout})"
            )
        self._channels = 1 if out_layout == "mono" else av.AudioLayout(out_layout).nb_channels

    def convert(self, frame: av.AudioFrame) -> np.ndarray:
        planes = [ctypes.c_void_p(p.buffer_ptr) for p in frame.planes]
        src = (ctypes.c_void_p * len(planes))(*planes)
        room = self._lib.swr.swr_get_out_samples(self._ctx, frame.samples)
        out = np.empty(max(room, 0) * self._channels + self._channels, dtype=np.int16)
        dst = (ctypes.c_void_p * 1)(out.ctypes.data)
        n = self._lib.swr.swr_convert(self._ctx, dst, max(room, 0) + 1, src, frame.samples)
        if n < 0:
            raise AudioError("Error converting audio")
        return out[: n * self._channels]

    def close(self) -> None:
        if self._ctx:
            self._lib.swr.swr_free(ctypes.byref(self._ctx))

    def __del__(self) -> None:
        self.close()


def _av_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


class AudioFile:
    """An opened input: its first audio stream, its duration, and its decoded frames."""

    def __init__(
        self,
        path: str,
        format: str | None = None,
        sample_rate: int | None = None,
        channels: int | None = None,
    ) -> None:
        self._path = path
        options: dict[str, Any] = {}
        if sample_rate:
            options["sample_rate"] = str(sample_rate)
        if channels:
            options["ch_layout"] = (
                f"{channels}C" if channels > 2 else ("mono", "stereo")[channels - 1]
            )
        try:
            self._container = av.open(
                "pipe:0" if path == "-" else path, format=format, options=options
            )
        except (av.FFmpegError, OSError) as exc:
            raise AudioError(f"Could not open the input file ({_av_reason(exc)})") from None
        stream = self._container.streams.best("audio")
        if stream is None:
            self._container.close()
            raise AudioError("Could not find any audio stream in the file (Stream not found)")
        self.stream = stream

    @property
    def duration_ms(self) -> int:
        """Container duration in whole milliseconds: fpcalc reports metadata, not decoded length."""
        s = self.stream
        if self._path != "-" and self._container.format.name == "mp3":
            frames_ms = mp3_header_duration_ms(self._path)
            if frames_ms is not None:
                return frames_ms
        if s.duration is not None and s.time_base is not None:
            return int(s.duration * s.time_base * 1000)
        if self._container.duration is not None:
            return int(self._container.duration // 1000)
        return 0

    def frames(self) -> Iterator[av.AudioFrame]:
        """Decoded frames, with fpcalc's tolerance for damage: a packet the decoder rejects is
        skipped, but a second one in a row ends the stream with an error (fpcalc prints what
        it has, then that error, and exits 3), so a damaged stretch is reported, not hidden."""
        packets = self._container.demux(self.stream)
        rejected = False
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError as exc:
                raise AudioError(f"Error decoding audio frame ({_av_reason(exc)})") from None
            try:
                frames = packet.decode()
            except av.InvalidDataError as exc:
                if rejected:
                    raise AudioError(f"Error decoding audio frame ({_av_reason(exc)})") from None
                rejected = True
                continue
            except av.FFmpegError as exc:
                raise AudioError(f"Error decoding audio frame ({_av_reason(exc)})") from None
            rejected = False
            yield from (f for f in frames if isinstance(f, av.AudioFrame))

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> AudioFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def mp3_header_duration_ms(path: str) -> int | None:
    """Duration from an MP3's Xing/Info/VBRI frame count, padding included.

    FFmpeg 5.1 (fpcalc's) reports `frames * samples_per_frame` for such files; newer FFmpeg, as
    bundled with PyAV, subtracts the encoder delay and padding, so we read the count ourselves.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    pos = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        pos = 10 + size + (10 if head[5] & 0x10 else 0)
        if pos + 4 > len(head):
            with open(path, "rb") as f:
                f.seek(pos)
                head = f.read(1 << 16)
            pos = 0
    while pos + 4 <= len(head) and not (head[pos] == 0xFF and head[pos + 1] & 0xE0 == 0xE0):
        pos += 1
    if pos + 40 > len(head):
        return None
    version = (head[pos + 1] >> 3) & 3  # 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    rate_index = (head[pos + 2] >> 2) & 3
    mono = (head[pos + 3] >> 6) == 3
    if version == 1 or rate_index == 3 or (head[pos + 1] >> 1) & 3 != 1:
        return None
    rate = (44100, 48000, 32000)[rate_index] >> {3: 0, 2: 1, 0: 2}[version]
    spf = 1152 if version == 3 else 576
    side = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    frames = None
    xing = pos + 4 + side
    if head[xing : xing + 4] in (b"Xing", b"Info"):
        flags = int.from_bytes(head[xing + 4 : xing + 8], "big")
        if flags & 1:
            frames = int.from_bytes(head[xing + 8 : xing + 12], "big")
    elif head[pos + 36 : pos + 40] == b"VBRI":
        frames = int.from_bytes(head[pos + 50 : pos + 54], "big")
    if not frames:
        return None
    return frames * spf * 1000 // rate


def _layout_name(frame: av.AudioFrame) -> str:
    return str(frame.layout.name)


def fpcalc_samples(audio: AudioFile) -> Iterator[np.ndarray]:
    """11025 Hz mono s16 blocks, as fpcalc feeds libchromaprint (the converter is not flushed)."""
    converter: Converter | None = None
    for frame in audio.frames():
        if frame.samples == 0:
            continue
        if (
            frame.format.name == "s16"
            and frame.rate == C.SAMPLE_RATE
            and len(frame.layout.channels) == 1
        ):
            yield np.frombuffer(memoryview(frame.planes[0]), dtype=np.int16, count=frame.samples)
            continue
        if converter is None:
            converter = Converter(
                _layout_name(frame), frame.format.name, frame.rate, "mono", C.SAMPLE_RATE
            )
        block = converter.convert(frame)
        if len(block):
            yield block


def decode_pcm(path: str) -> tuple[np.ndarray, int, int]:
    """(interleaved s16, rate, channels) at the native rate, as `ffmpeg -f s16le` produces it.

    This is what pyacoustid's audioread backend hands to libchromaprint's API.
    """
    with AudioFile(path) as audio:
        blocks: list[np.ndarray] = []
        converter: Converter | None = None
        rate = channels = 0
        for frame in audio.frames():
            if converter is None:
                rate, channels = frame.rate, len(frame.layout.channels)
                layout = _layout_name(frame)
                converter = Converter(layout, frame.format.name, rate, layout, rate)
            blocks.append(converter.convert(frame))
    if converter is None:
        raise AudioError("Not enough audio data")
    return np.concatenate(blocks) if blocks else np.empty(0, np.int16), rate, channels


def fingerprint_file(
    path: str,
    length: float = C.DEFAULT_LENGTH_SECONDS,
    algorithm: int = C.DEFAULT_ALGORITHM,
) -> tuple[float, np.ndarray]:
    """(duration in seconds, raw items) exactly as `fpcalc -raw -length LENGTH` reports them."""
    limit = int(length * C.SAMPLE_RATE)
    fp = Fingerprinter(algorithm)
    fed = 0
    with AudioFile(path) as src:
        duration = src.duration_ms / 1000.0
        for block in fpcalc_samples(src):
            if limit:
                block = block[: limit - fed]
            fp.feed(block)
            fed += len(block)
            if limit and fed >= limit:
                break
    return duration, fp.finish()
