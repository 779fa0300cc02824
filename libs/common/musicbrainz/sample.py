"""A small MusicBrainz dump in exactly the official format, for tests and ``make dev``.

Made-up artists, recordings and releases (nothing copied from MusicBrainz), chosen to cover
what lookups show: recordings alone and on several releases and media, one with ISRCs, one
merged into another through ``recording_gid_redirect``, multi-artist credits with join
phrases, releases with events in several countries (and one of unknown country) with full
and partial dates, release groups with secondary types, and track titles and credits that
differ from their recording's. Every line is written in the column order of the schema the
import uses, so the sample is a valid dump by construction. The ids are stable UUIDv5s, so
golden files and the demo tracks can name them.

``python -m libs.common.musicbrainz.sample OUT_DIR`` writes ``OUT_DIR/mbdump.tar.bz2``.
"""

from __future__ import annotations

import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from libs.common.musicbrainz import dump, schema

NAMESPACE = uuid.UUID("5d0f8a47-3c1e-4f0b-9a55-6b8e2d7c4a10")
TIMESTAMP = datetime(2026, 11, 28, 0, 0, 12, tzinfo=UTC)
REPLICATION_SEQUENCE = 171234
DEMO_MBIDS = {
    "melody": "3b0c6b4a-7f0e-4f43-8f4e-2f8a0a8f6a01",
    "speech": "3b0c6b4a-7f0e-4f43-8f4e-2f8a0a8f6a02",
    "noise": "3b0c6b4a-7f0e-4f43-8f4e-2f8a0a8f6a03",
}
"""The MBIDs ``make dev``'s demo tracks are submitted with (``demo_tracks.json``): the first
is a recording on several releases, the second a standalone recording, the third an old id
that MusicBrainz merged into "Melody Under Static"."""

NOTES = {
    "COPYING": "Sample data made up for acoustid-py's tests; no MusicBrainz data is included.",
    "README": "A sample in the format of the MusicBrainz data dumps (mbdump.tar.bz2).",
}

COUNTRIES = {
    "GB": "United Kingdom",
    "US": "United States",
    "DE": "Germany",
    "JP": "Japan",
    "FR": "France",
    "XE": "Europe",
    "XW": "[Worldwide]",
}
PRIMARY_TYPES = {1: "Album", 2: "Single", 3: "EP", 11: "Other", 12: "Broadcast"}
SECONDARY_TYPES = {1: "Compilation", 2: "Soundtrack", 6: "Live", 7: "Remix", 10: "Demo"}
FORMATS = {1: "CD", 7: "Vinyl", 12: "Digital Media"}

ARTISTS = (
    "Aurora Vale",
    "The Tidewater",
    "Mara Quell",
    "Jun Ishida",
    "Les Lanternes",
    "Otto Brenner Quartet",
    "Speaker of Hours",
    "Velvet Compass",
    "Nadia Ferro",
    "Coldharbour Lane",
    "Kestrel & Finch",
    "Static Orchard",
    "Ida Marlow",
    "The Paper Lanterns",
    "Ruben Sol",
    "Hanna Winter",
    "Low Meridian",
    "Pico Rivera",
    "Various Artists",
    "Emil Nyberg",
    "Saltmarsh",
    "Yuki Tanabe",
    "Golden Hour Club",
    "Marguerite Oye",
    "The Quiet Engines",
    "Leon Baptiste",
    "Silver Birch",
    "DJ Ampersand",
    "Clara Voss",
    "North of Nowhere",
)


def gid(kind: str, key: object) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass
class Builder:
    """Rows per table, as dicts by column name; ids are assigned in insertion order."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    ids: dict[str, dict[object, int]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, table: str, key: object = None, **values: Any) -> int:
        values = {**_defaults(table), **values}
        if "id" in schema.columns()[table] and "id" not in values:
            values["id"] = len(self.rows[table]) + 1
        self.rows[table].append(values)
        if key is not None:
            self.ids[table][key] = values["id"]
        return int(values.get("id", 0))

    def credit(self, *parts: str) -> int:
        """An artist credit from ``artist[=credited name]`` and join phrases between them."""
        key = parts
        if key in self.ids["artist_credit"]:
            return self.ids["artist_credit"][key]
        names = []
        for i in range(0, len(parts), 2):
            artist, _, credited = parts[i].partition("=")
            join = parts[i + 1] if i + 1 < len(parts) else ""
            names.append((artist, credited or artist, join))
        text = "".join(credited + join for _, credited, join in names)
        credit_id = self.add(
            "artist_credit",
            key,
            name=text,
            artist_count=len(names),
            ref_count=1,
            created=TIMESTAMP,
            edits_pending=0,
            gid=gid("artist_credit", text),
        )
        for position, (artist, credited, join) in enumerate(names):
            self.add(
                "artist_credit_name",
                artist_credit=credit_id,
                position=position,
                artist=self.ids["artist"][artist],
                name=credited,
                join_phrase=join,
            )
        return credit_id

    def lines(self, table: str) -> Iterator[bytes]:
        names = schema.columns()[table]
        for row in self.rows[table]:
            yield dump.copy_line([row.get(name) for name in names])


def _defaults(table: str) -> dict[str, Any]:
    """Values MusicBrainz fills in for columns the sample does not care about."""
    common: dict[str, Any] = {
        "edits_pending": 0,
        "last_updated": TIMESTAMP,
        "comment": "",
        "ended": False,
        "child_order": 0,
    }
    specific: dict[str, dict[str, Any]] = {
        "recording": {"video": False},
        "track": {"is_data_track": False},
        "release": {"quality": -1},
        "medium_format": {"has_discids": False},
        "isrc": {"created": TIMESTAMP},
        "recording_gid_redirect": {"created": TIMESTAMP},
        "release_group_secondary_type_join": {"created": TIMESTAMP},
    }
    names = set(schema.columns()[table])
    return {k: v for k, v in {**common, **specific.get(table, {})}.items() if k in names}


def _vocabularies(b: Builder) -> None:
    for number, (code, name) in enumerate(COUNTRIES.items(), start=1):
        area = b.add("area", code, id=number, gid=gid("area", code), name=name, type=1)
        b.add("country_area", area=area)
        b.add("iso_3166_1", area=area, code=code)
    for type_id, name in PRIMARY_TYPES.items():
        b.add("release_group_primary_type", id=type_id, name=name, gid=gid("rgpt", name))
    for type_id, name in SECONDARY_TYPES.items():
        b.add("release_group_secondary_type", id=type_id, name=name, gid=gid("rgst", name))
    for format_id, name in FORMATS.items():
        b.add("medium_format", id=format_id, name=name, gid=gid("format", name))
    for name in ARTISTS:
        b.add("artist", name, gid=gid("artist", name), name=name, sort_name=name, type=1)


# Recordings: key -> (title, credit parts, length in ms or None).
RECORDINGS: dict[str, tuple[str, tuple[str, ...], int | None]] = {
    "melody": ("Melody for Two Hands", ("Aurora Vale", " & ", "The Tidewater"), 60000),
    "speech": ("A Voice Reading the Weather", ("Speaker of Hours",), 22000),
    "static": ("Melody Under Static", ("Static Orchard",), 125000),
    "lights": ("Northern Lights", ("Aurora Vale",), 241573),
    "harbour": ("Harbour at Dusk", ("Aurora Vale",), 198000),
    "tide": ("Tide Tables", ("The Tidewater",), None),
    "quell": ("Small Hours", ("Mara Quell", " feat. ", "Jun Ishida"), 215000),
    "lanterns": ("La Nuit des Lanternes", ("Les Lanternes",), 187000),
    "brenner": ("Blue in Four", ("Otto Brenner Quartet",), 402000),
    "compass": ("True North", ("Velvet Compass",), 233000),
    "ferro": ("Iron and Silk", ("Nadia Ferro",), 204000),
    "coldharbour": ("Last Train Home", ("Coldharbour Lane",), 256000),
    "kestrel": ("Wings Over Water", ("Kestrel & Finch",), 178000),
    "marlow": ("Paper Boats", ("Ida Marlow", " and ", "The Paper Lanterns"), 191000),
    "sol": ("Sol y Sombra", ("Ruben Sol",), 222000),
    "winter": ("First Snow", ("Hanna Winter",), 169000),
    "meridian": ("Low Sun", ("Low Meridian",), 301000),
    "rivera": ("Pico Boulevard", ("Pico Rivera",), 245000),
    "nyberg": ("Fjord Light", ("Emil Nyberg",), 283000),
    "saltmarsh": ("Reed Song", ("Saltmarsh",), 199000),
    "tanabe": ("Kaze no Uta", ("Yuki Tanabe",), 236000),
    "golden": ("Golden Hour", ("Golden Hour Club",), 212000),
    "oye": ("Marguerite", ("Marguerite Oye",), 175000),
    "engines": ("Quiet Engines", ("The Quiet Engines",), 264000),
    "baptiste": ("Saint-Leon", ("Leon Baptiste",), 207000),
    "birch": ("Silver Birch", ("Silver Birch",), 188000),
    "ampersand": ("Ampersand (Club Mix)", ("DJ Ampersand", " vs. ", "Clara Voss"), 356000),
    "voss": ("Glass Harbour", ("Clara Voss",), 219000),
    "nowhere": ("North of Nowhere", ("North of Nowhere",), 248000),
    "lights_live": ("Northern Lights (live)", ("Aurora Vale",), 262000),
    "demo_tape": ("Harbour at Dusk (demo)", ("Aurora Vale",), 187000),
    "interlude": ("Interlude", ("Aurora Vale=A. Vale",), 45000),
}
STANDALONE = ("speech", "tide", "oye")
ISRCS = {"lights": ("GBAYE1900001", "GBAYE1900002"), "quell": ("JPXX02100017",)}
REDIRECTS = {"noise": "static", "lights_old": "lights"}


@dataclass(frozen=True)
class Release:
    title: str
    group: str
    credit: tuple[str, ...]
    events: tuple[tuple[str | None, int | None, int | None, int | None], ...]
    mediums: tuple[tuple[int | None, str, tuple[str, ...]], ...]
    """(format id, medium title, track keys); a key ``rec|title|credit`` renames a track."""


# Release groups: key -> (title, credit parts, primary type id or None, secondary type ids).
GROUPS: dict[str, tuple[str, tuple[str, ...], int | None, tuple[int, ...]]] = {
    "two_hands": ("Two Hands", ("Aurora Vale", " & ", "The Tidewater"), 1, ()),
    "lights": ("Northern Lights", ("Aurora Vale",), 1, ()),
    "lights_single": ("Northern Lights", ("Aurora Vale",), 2, ()),
    "winter_best": ("Best of Winter", ("Various Artists",), 1, (1,)),
    "live": ("Live at the Harbour", ("Aurora Vale",), 1, (6,)),
    "static": ("Static Orchard EP", ("Static Orchard",), 3, ()),
    "film": ("Night Ferry (Original Score)", ("Various Artists",), 1, (2, 1)),
    "remixes": ("Ampersand Remixes", ("DJ Ampersand",), None, (7,)),
    "demos": ("Early Tapes", ("Aurora Vale",), 11, (10,)),
}

RELEASES = (
    Release(
        "Two Hands",
        "two_hands",
        ("Aurora Vale", " & ", "The Tidewater"),
        (("GB", 2021, 5, 14), ("US", 2021, 6, None), ("JP", 2021, None, None)),
        (
            (1, "", ("melody", "harbour", "tide|Tide Tables (reprise)")),
            (1, "Bonus Disc", ("interlude", "melody|Melody for Two Hands (alternate take)")),
        ),
    ),
    Release(
        "Two Hands (deluxe edition)",
        "two_hands",
        ("Aurora Vale", " & ", "The Tidewater"),
        ((None, 2022, 2, 1),),
        ((12, "", ("melody", "harbour", "interlude")),),
    ),
    Release(
        "Northern Lights",
        "lights",
        ("Aurora Vale",),
        (("GB", 2019, 3, 15), ("US", 2019, 4, None), ("DE", 2019, 3, 15)),
        ((1, "", ("lights", "harbour", "interlude")),),
    ),
    Release(
        "Northern Lights",
        "lights",
        ("Aurora Vale",),
        (("XE", 2019, None, None),),
        (
            (7, "Side A", ("lights", "harbour")),
            (7, "Side B", ("interlude", "lights|Northern Lights (instrumental)")),
        ),
    ),
    Release(
        "Northern Lights",
        "lights_single",
        ("Aurora Vale",),
        (("XW", 2019, 2, 1),),
        ((12, "", ("lights", "lights_live")),),
    ),
    Release(
        "Best of Winter",
        "winter_best",
        ("Various Artists",),
        (("DE", 2020, None, None), ("FR", 2020, 11, 20)),
        (
            (
                1,
                "",
                (
                    "lights",
                    "quell",
                    "lanterns",
                    "compass",
                    "ferro",
                    "winter",
                    "nyberg",
                    "tanabe",
                    "birch",
                ),
            ),
        ),
    ),
    Release(
        "Live at the Harbour",
        "live",
        ("Aurora Vale",),
        (("GB", 2023, 9, 2),),
        ((12, "", ("lights_live", "harbour|Harbour at Dusk (live)", "melody")),),
    ),
    Release(
        "Static Orchard EP",
        "static",
        ("Static Orchard",),
        (("US", 2018, 10, 31),),
        ((None, "", ("static", "coldharbour", "kestrel")),),
    ),
    Release(
        "Night Ferry",
        "film",
        ("Various Artists",),
        (("FR", 2017, None, None),),
        (
            (
                1,
                "",
                (
                    "marlow",
                    "sol",
                    "meridian",
                    "rivera|Pico Boulevard (film edit)|Pico Rivera",
                    "saltmarsh",
                    "golden",
                ),
            ),
        ),
    ),
    Release(
        "Ampersand Remixes",
        "remixes",
        ("DJ Ampersand",),
        (),
        ((12, "", ("ampersand", "voss|Glass Harbour (Ampersand remix)|DJ Ampersand")),),
    ),
    Release(
        "Early Tapes",
        "demos",
        ("Aurora Vale",),
        (("GB", 2015, None, None),),
        ((None, "", ("demo_tape", "engines", "baptiste", "nowhere")),),
    ),
)


def _recordings(b: Builder) -> None:
    for key, (title, credit, length) in RECORDINGS.items():
        b.add(
            "recording",
            key,
            gid=DEMO_MBIDS.get(key, gid("recording", key)),
            name=title,
            artist_credit=b.credit(*credit),
            length=length,
        )
    for old, target in REDIRECTS.items():
        b.add(
            "recording_gid_redirect",
            gid=DEMO_MBIDS.get(old, gid("recording", old)),
            new_id=b.ids["recording"][target],
        )
    for key, codes in ISRCS.items():
        for code in codes:
            b.add("isrc", recording=b.ids["recording"][key], isrc=code)


def _releases(b: Builder) -> None:
    for key, (title, credit, primary, secondary) in GROUPS.items():
        group = b.add(
            "release_group",
            key,
            gid=gid("release_group", key),
            name=title,
            artist_credit=b.credit(*credit),
            type=primary,
        )
        for type_id in secondary:
            b.add(
                "release_group_secondary_type_join",
                release_group=group,
                secondary_type=type_id,
            )
    for number, release in enumerate(RELEASES, start=1):
        release_id = b.add(
            "release",
            gid=gid("release", number),
            name=release.title,
            artist_credit=b.credit(*release.credit),
            release_group=b.ids["release_group"][release.group],
            status=1,
        )
        for country, year, month, day in release.events:
            date = {"date_year": year, "date_month": month, "date_day": day}
            if country is None:
                b.add("release_unknown_country", release=release_id, **date)
            else:
                b.add("release_country", release=release_id, country=b.ids["area"][country], **date)
        for position, (fmt, name, tracks) in enumerate(release.mediums, start=1):
            medium = b.add(
                "medium",
                release=release_id,
                position=position,
                format=fmt,
                name=name,
                track_count=len(tracks),
                gid=gid("medium", (number, position)),
            )
            for track_no, spec in enumerate(tracks, start=1):
                _track(b, medium, (number, position, track_no), spec)


def _track(b: Builder, medium: int, where: tuple[int, int, int], spec: str) -> None:
    key, _, rest = spec.partition("|")
    title, _, credit = rest.partition("|")
    rec_title, rec_credit, length = RECORDINGS[key]
    b.add(
        "track",
        gid=gid("track", where),
        recording=b.ids["recording"][key],
        medium=medium,
        position=where[2],
        number=str(where[2]),
        name=title or rec_title,
        artist_credit=b.credit(*((credit,) if credit else rec_credit)),
        length=length,
    )


def build() -> Builder:
    b = Builder()
    _vocabularies(b)
    _recordings(b)
    _releases(b)
    b.add(
        "replication_control",
        current_schema_sequence=schema.SCHEMA_SEQUENCE,
        current_replication_sequence=REPLICATION_SEQUENCE,
        last_replication_date=TIMESTAMP,
    )
    return b


def meta(schema_sequence: int = schema.SCHEMA_SEQUENCE) -> dict[str, str]:
    return {
        "TIMESTAMP": dump.pg_timestamp(TIMESTAMP),
        "SCHEMA_SEQUENCE": str(schema_sequence),
        "REPLICATION_SEQUENCE": str(REPLICATION_SEQUENCE),
    }


def write_sample(directory: Path, schema_sequence: int = schema.SCHEMA_SEQUENCE) -> Path:
    """Writes ``directory/mbdump.tar.bz2`` and returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    b = build()
    path = directory / "mbdump.tar.bz2"
    tables = {table: b.lines(table) for table in schema.TABLES}
    dump.write(path, tables, meta(schema_sequence), NOTES)
    return path


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m libs.common.musicbrainz.sample OUT_DIR", file=sys.stderr)
        return 2
    print(write_sample(Path(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
