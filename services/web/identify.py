"""Identify by upload: fingerprint an audio file on the server, then ask the API like a client.

The fingerprint is computed exactly as ``fpcalc`` computes it (first 120 s, 11025 Hz mono
through fpcalc's resampler), so an upload finds what the same file run through ``fpcalc``
and ``/v2/lookup`` finds. The lookup goes over HTTP to ``/v2/lookup``: one implementation of
the search, and the website needs no index or search code of its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import numpy as np

from libs.chromaprint_cy import constants as C
from libs.chromaprint_cy.audio import AudioError, AudioFile, fpcalc_samples
from libs.chromaprint_cy.codec import encode_fingerprint
from libs.chromaprint_cy.fingerprinter import Fingerprinter
from libs.common.apikeys import demo_client_key
from libs.common.settings import Settings

#: FFmpeg demuxer names of the formats the page promises (Opus arrives in Ogg).
FORMATS = {
    "mp3": "MP3",
    "ogg": "Ogg (Vorbis, Opus, FLAC)",
    "flac": "FLAC",
    "mov,mp4,m4a,3gp,3g2,mj2": "MP4/M4A (AAC, ALAC)",
    "wav": "WAV",
}
ACCEPT = ".mp3,.ogg,.oga,.opus,.flac,.m4a,.mp4,.wav,audio/*"
#: Below this much audio Chromaprint has too few items for a lookup to mean anything.
MIN_SECONDS = 3.0
#: A file whose decoded audio ends this much before its declared length is called truncated.
TRUNCATION_SLACK = 2.0


class IdentifyError(Exception):
    """What went wrong, in words for the page; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Progress:
    """Share of the work done, written by the fingerprinting thread and read by the page."""

    fraction: float = 0.0


@dataclass(frozen=True)
class Fingerprinted:
    items: np.ndarray
    format: str
    duration: float
    """Seconds the container declares (what fpcalc reports), else the decoded length."""
    decoded: float
    """Seconds actually decoded and fingerprinted (at most 120)."""
    truncated: bool
    seconds: float
    """Wall time of decoding and fingerprinting."""

    @property
    def fingerprint(self) -> str:
        return encode_fingerprint(self.items)


def open_audio(path: str) -> AudioFile:
    """Opens an upload and checks it is one of the accepted formats."""
    try:
        audio = AudioFile(path)
    except AudioError as exc:
        raise IdentifyError(
            "This file is not audio that can be read "
            f"(accepted: MP3, Ogg Vorbis/Opus, FLAC, M4A, WAV). The decoder said: {exc}"
        ) from None
    name = audio.format_name
    if name not in FORMATS:
        audio.close()
        raise IdentifyError(
            f"Files of type {name!r} are not accepted; upload MP3, Ogg Vorbis/Opus, FLAC, "
            "M4A or WAV."
        )
    return audio


def fingerprint_upload(
    path: str, time_limit: float, progress: Progress | None = None
) -> Fingerprinted:
    """Decodes and fingerprints the first 120 s, as ``fpcalc`` does; blocking, for a thread.

    The time limit is checked between decoded blocks, so a file that decodes slowly stops
    with a clear message instead of holding a thread for ever.
    """
    started = time.monotonic()
    deadline = started + time_limit
    limit = C.DEFAULT_LENGTH_SECONDS * C.SAMPLE_RATE
    fp = Fingerprinter()
    fed = 0
    broken = False
    with open_audio(path) as audio:
        fmt = audio.format_name
        declared = audio.duration_ms / 1000.0
        expected = min(declared, C.DEFAULT_LENGTH_SECONDS) * C.SAMPLE_RATE or limit
        try:
            for block in fpcalc_samples(audio):
                block = block[: limit - fed]
                fp.feed(block)
                fed += len(block)
                if progress is not None:
                    progress.fraction = min(1.0, fed / expected)
                if fed >= limit:
                    break
                if time.monotonic() > deadline:
                    raise IdentifyError(
                        f"Processing this file took longer than {time_limit:g} seconds; "
                        "try a shorter or simpler file.",
                        status=413,
                    )
        except AudioError as exc:
            if fed == 0:
                raise IdentifyError(f"The audio in this file could not be decoded: {exc}") from None
            broken = True
        items = fp.finish()
    decoded = fed / C.SAMPLE_RATE
    if decoded < MIN_SECONDS or not len(items):
        raise IdentifyError(
            f"This file holds {decoded:.1f} s of audio; at least {MIN_SECONDS:g} s are needed "
            "to fingerprint it."
        )
    short = decoded < C.DEFAULT_LENGTH_SECONDS and declared - decoded > TRUNCATION_SLACK
    return Fingerprinted(
        items=items,
        format=fmt,
        duration=declared if declared > 0 else decoded,
        decoded=decoded,
        truncated=broken or short,
        seconds=time.monotonic() - started,
    )


@dataclass(frozen=True)
class Recording:
    id: str
    title: str | None = None
    artists: str | None = None
    duration: int | None = None


@dataclass(frozen=True)
class Match:
    id: str
    score: float
    recordings: list[Recording] = field(default_factory=list)


def _recording(data: dict[str, Any]) -> Recording:
    artists = data.get("artists") or []
    credit = "".join(a.get("name", "") + (a.get("joinphrase") or "") for a in artists)
    return Recording(
        id=str(data["id"]),
        title=data.get("title"),
        artists=credit or None,
        duration=data.get("duration"),
    )


@dataclass
class Outcome:
    """What a page shows for one upload or pasted fingerprint."""

    filename: str
    fingerprinted: Fingerprinted | None = None
    matches: list[Match] = field(default_factory=list)
    error: IdentifyError | None = None

    @property
    def status(self) -> int:
        return self.error.status if self.error else 200


def parse_lookup(body: dict[str, Any]) -> list[Match]:
    """Results of a ``/v2/lookup`` answer, best first; an error answer raises IdentifyError."""
    if body.get("status") != "ok":
        error = body.get("error") or {}
        raise IdentifyError(
            f"The lookup service refused the fingerprint: {error.get('message', 'unknown error')}",
            status=502,
        )
    return [
        Match(
            id=str(r["id"]),
            score=float(r["score"]),
            recordings=[_recording(rec) for rec in r.get("recordings") or [] if "id" in rec],
        )
        for r in body.get("results") or []
    ]


def credentials(settings: Settings, today: date) -> dict[str, str]:
    """The website's own key (today's demo key unless one is configured), plus the cluster
    secret when there is one: every upload comes from this server's address, so the API's
    per-IP limit must not count them as one client."""
    key = settings.website_client_key or demo_client_key(settings.website_secret, today)
    params = {"client": key}
    if settings.cluster_secret:
        params["secret"] = settings.cluster_secret
    return params


async def lookup(
    client: httpx.AsyncClient, settings: Settings, duration: float, fingerprint: str
) -> list[Match]:
    """``/v2/lookup`` over HTTP with the website's key, as any client would call it."""
    data = {
        **credentials(settings, datetime.now(UTC).date()),
        "format": "json",
        "meta": "recordings",
        "duration": str(int(duration)),
        "fingerprint": fingerprint,
    }
    url = f"{settings.website_api_url.rstrip('/')}/v2/lookup"
    try:
        response = await client.post(url, data=data)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        raise IdentifyError(
            "The lookup service did not answer; please try again in a moment.", status=503
        ) from None
    return parse_lookup(body)
