"""A generated MusicBrainz dump of any size, for the import benchmark and the tests that
need an archive longer than one bz2 block.

Shaped like the real catalogue where it matters to the import and to lookups: two tracks
per recording on average (each release has one medium of ten tracks), releases grouped in
release groups, one release event per release, ISRCs on a tenth of the recordings, a few
redirects. Lines are formatted directly in each table's column order (from the schema the
import uses) so a million recordings take seconds, not minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

from libs.common.musicbrainz import dump, sample

TRACKS_PER_MEDIUM = 10
STAMP = dump.pg_timestamp(sample.TIMESTAMP)


def _uuid(kind: int, n: int) -> str:
    return str(uuid.UUID(int=(kind << 96) | n, version=4))


def tables(recordings: int) -> dict[str, Iterator[bytes]]:
    """Every table of :data:`schema.TABLES` for ``recordings`` recordings."""
    tracks = recordings * 2
    releases = tracks // TRACKS_PER_MEDIUM
    groups = max(1, releases * 3 // 4)
    artists = max(1, recordings // 10)
    n = "\\N"

    def artist() -> Iterator[bytes]:
        for i in range(1, artists + 1):
            yield (
                f"{i}\t{_uuid(1, i)}\tArtist {i}\tArtist {i}\t{n}\t{n}\t{n}\t{n}\t{n}\t{n}\t1"
                f"\t{n}\t{n}\t\t0\t{STAMP}\tf\t{n}\t{n}\n"
            ).encode()

    def artist_credit() -> Iterator[bytes]:
        for i in range(1, artists + 1):
            yield f"{i}\tArtist {i}\t1\t1\t{STAMP}\t0\t{_uuid(2, i)}\n".encode()

    def artist_credit_name() -> Iterator[bytes]:
        for i in range(1, artists + 1):
            yield f"{i}\t0\t{i}\tArtist {i}\t\n".encode()

    def recording() -> Iterator[bytes]:
        for i in range(1, recordings + 1):
            credit = i % artists + 1
            yield (
                f"{i}\t{_uuid(3, i)}\tRecording {i}\t{credit}\t{180000 + i % 120000}\t\t0"
                f"\t{STAMP}\tf\n"
            ).encode()

    def redirect() -> Iterator[bytes]:
        for i in range(1, recordings // 1000 + 1):
            yield f"{_uuid(4, i)}\t{i}\t{STAMP}\n".encode()

    def isrc() -> Iterator[bytes]:
        for i in range(1, recordings // 10 + 1):
            yield f"{i}\t{i * 10}\tXX{i % 1000:03d}{i:07d}\t0\t{STAMP}\n".encode()

    def release_group() -> Iterator[bytes]:
        for i in range(1, groups + 1):
            credit = i % artists + 1
            yield f"{i}\t{_uuid(5, i)}\tGroup {i}\t{credit}\t1\t\t0\t{STAMP}\n".encode()

    def secondary_join() -> Iterator[bytes]:
        for i in range(1, groups + 1, 7):
            yield f"{i}\t1\t{STAMP}\n".encode()

    def release() -> Iterator[bytes]:
        for i in range(1, releases + 1):
            group = (i - 1) % groups + 1
            credit = group % artists + 1
            yield (
                f"{i}\t{_uuid(6, i)}\tRelease {i}\t{credit}\t{group}\t1\t{n}\t{n}\t{n}\t{n}"
                f"\t\t0\t-1\t{STAMP}\n"
            ).encode()

    def release_country() -> Iterator[bytes]:
        for i in range(1, releases + 1):
            country = i % len(sample.COUNTRIES) + 1
            yield f"{i}\t{country}\t{1960 + i % 60}\t{i % 12 + 1}\t{n}\n".encode()

    def medium() -> Iterator[bytes]:
        for i in range(1, releases + 1):
            yield (f"{i}\t{i}\t1\t1\t\t0\t{STAMP}\t{TRACKS_PER_MEDIUM}\t{_uuid(7, i)}\n").encode()

    def track() -> Iterator[bytes]:
        for i in range(1, releases * TRACKS_PER_MEDIUM + 1):
            rec = (i - 1) % recordings + 1
            med = (i - 1) // TRACKS_PER_MEDIUM + 1
            pos = (i - 1) % TRACKS_PER_MEDIUM + 1
            credit = rec % artists + 1
            yield (
                f"{i}\t{_uuid(8, i)}\t{rec}\t{med}\t{pos}\t{pos}\tRecording {rec}\t{credit}"
                f"\t{180000 + rec % 120000}\t0\t{STAMP}\tf\n"
            ).encode()

    small = sample.build()
    return {
        "artist": artist(),
        "artist_credit": artist_credit(),
        "artist_credit_name": artist_credit_name(),
        "area": small.lines("area"),
        "country_area": small.lines("country_area"),
        "iso_3166_1": small.lines("iso_3166_1"),
        "recording": recording(),
        "recording_gid_redirect": redirect(),
        "isrc": isrc(),
        "release_group_primary_type": small.lines("release_group_primary_type"),
        "release_group_secondary_type": small.lines("release_group_secondary_type"),
        "release_group": release_group(),
        "release_group_secondary_type_join": secondary_join(),
        "release": release(),
        "release_country": release_country(),
        "release_unknown_country": iter(()),
        "medium_format": small.lines("medium_format"),
        "medium": medium(),
        "track": track(),
        "replication_control": small.lines("replication_control"),
    }


def recording_mbid(i: int) -> str:
    """The MBID of generated recording ``i`` (1-based)."""
    return _uuid(3, i)


def write(directory: Path, recordings: int, compresslevel: int = 9) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mbdump.tar.bz2"
    dump.write(path, tables(recordings), sample.meta(), sample.NOTES, compresslevel=compresslevel)
    return path
