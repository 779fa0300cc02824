"""The MusicBrainz tables a lookup reads, as MusicBrainz itself defines them.

The DDL is taken from the SQL files that ship with ``mbdata`` (MusicBrainz's own
``admin/sql`` scripts, which mbslave replicas run too) instead of being copied here, so the
column order of every table is the one the official dumps are written in, and a new
``mbdata`` release brings a new MusicBrainz schema. The major version of ``mbdata`` is the
MusicBrainz ``SCHEMA_SEQUENCE`` it describes.

Tables are created without foreign keys: the other ends (languages, genders, ...) are not
loaded, and dumps are consistent by construction.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import mbdata

SCHEMA = "musicbrainz"
SCHEMA_SEQUENCE = int(mbdata.__version__.split(".")[0])

TABLES = (
    "artist",
    "artist_credit",
    "artist_credit_name",
    "area",
    "country_area",
    "iso_3166_1",
    "recording",
    "recording_gid_redirect",
    "isrc",
    "release_group_primary_type",
    "release_group_secondary_type",
    "release_group",
    "release_group_secondary_type_join",
    "release",
    "release_country",
    "release_unknown_country",
    "medium_format",
    "medium",
    "track",
    "replication_control",
)
"""Every table imported from a dump (``mbdump/<name>``), all in ``mbdump.tar.bz2``."""

VIEWS = ("release_event",)

# Indexes beyond the primary keys: those the lookup's joins use, by their MusicBrainz names.
INDEXES = (
    "recording_idx_gid",
    "recording_gid_redirect_idx_new_id",
    "track_idx_gid",
    "track_idx_recording",
    "track_idx_medium_position",
    "medium_idx_release_position",
    "release_idx_gid",
    "release_idx_release_group",
    "release_group_idx_gid",
    "iso_3166_1_idx_area",
    "isrc_idx_recording",
)


def _sql(name: str) -> str:
    return (resources.files("mbdata") / "sql" / name).read_text()


def _statements(text: str) -> list[str]:
    """``;``-terminated statements of a MusicBrainz SQL file, comments dropped.

    The files keep one statement per line or a block ending in ``);``/``;`` at the end of a
    line, and never put ``;`` inside a literal in the statements taken here.
    """
    statements, current = [], []
    for line in text.splitlines():
        code = line.split("--", 1)[0].rstrip()
        if not code or code.startswith("\\") or code in ("BEGIN;", "COMMIT;"):
            continue
        current.append(code)
        if code.endswith(";"):
            statements.append("\n".join(current))
            current = []
    return statements


@cache
def create_tables() -> dict[str, str]:
    """``CREATE TABLE`` of each table in :data:`TABLES`, unqualified (the search path picks
    the schema)."""
    found = {}
    for stmt in _statements(_sql("CreateTables.sql")):
        match = re.match(r"CREATE TABLE (\w+)", stmt)
        if match and match.group(1) in TABLES:
            found[match.group(1)] = stmt
    missing = set(TABLES) - found.keys()
    assert not missing, f"mbdata's CreateTables.sql lacks {sorted(missing)}"
    return found


@cache
def columns() -> dict[str, tuple[str, ...]]:
    """Each table's columns in schema order: the order of the fields of a dump's lines."""
    result = {}
    for table, stmt in create_tables().items():
        body = stmt[stmt.index("(") + 1 :]
        names = []
        depth = 0
        for line in body.splitlines():
            word = line.strip().split(" ", 1)[0]
            if depth == 0 and word and re.fullmatch(r"[a-z_0-9]+", word):
                names.append(word)
            depth += line.count("(") - line.count(")")
        result[table] = tuple(names)
    return result


@cache
def create_indexes() -> list[str]:
    """Primary keys of the tables and the :data:`INDEXES`, from MusicBrainz's scripts."""
    keys = [
        stmt
        for stmt in _statements(_sql("CreatePrimaryKeys.sql"))
        if (m := re.match(r"ALTER TABLE (\w+) ADD CONSTRAINT", stmt)) and m.group(1) in TABLES
    ]
    named = {}
    for name in ("CreateIndexes.sql", "CreateMirrorIndexes.sql"):
        for stmt in _statements(_sql(name)):
            match = re.match(r"CREATE (?:UNIQUE )?INDEX (\w+)", stmt)
            if match and match.group(1) in INDEXES:
                named[match.group(1)] = stmt
    missing = set(INDEXES) - named.keys()
    assert not missing, f"mbdata's index scripts lack {sorted(missing)}"
    return keys + [named[name] for name in INDEXES]


@cache
def create_views() -> list[str]:
    views = []
    for stmt in _statements(_sql("CreateViews.sql")):
        match = re.match(r"CREATE OR REPLACE VIEW (\w+)", stmt)
        if match and match.group(1) in VIEWS:
            views.append(stmt)
    return views


def ddl(schema: str) -> list[str]:
    """Everything that makes ``schema`` hold empty MusicBrainz tables, indexes and views."""
    return [
        f'CREATE SCHEMA "{schema}"',
        f'SET LOCAL search_path = "{schema}"',
        *create_tables().values(),
        *create_indexes(),
        *create_views(),
    ]
