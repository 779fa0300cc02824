"""``acoustid musicbrainz import PATH... | sample OUT_DIR``: the MusicBrainz tables lookups read."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser("musicbrainz", help="load MusicBrainz data dumps for lookups")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = actions.add_parser(
        "import",
        help="load MusicBrainz data dumps into the musicbrainz tables",
        description="Load the tables lookups read from MusicBrainz data dumps "
        "(mbdump.tar.bz2, mbdump-derived.tar.bz2, or their unpacked directories) into "
        "ACOUSTID_MUSICBRAINZ_DATABASE_URL (default: the app database, schema musicbrainz). "
        "Lookups keep answering from the previous data until the new dump is loaded; a dump "
        "that cannot be loaded changes nothing.",
    )
    load.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a dump file or dir")
    load.set_defaults(func=run_import)
    sample = actions.add_parser(
        "sample", help="write the project's sample dump to OUT_DIR/mbdump.tar.bz2"
    )
    sample.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    sample.set_defaults(func=run_sample)


def run_sample(args: argparse.Namespace) -> int:
    from libs.common.musicbrainz.sample import write_sample

    print(write_sample(args.out_dir))
    return 0


def run_import(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    import asyncpg

    from libs.common.db import Database, database_url
    from libs.common.musicbrainz.dump import DumpError
    from libs.common.musicbrainz.importer import import_dumps
    from libs.common.settings import get_settings

    url = database_url(get_settings(), Database.MUSICBRAINZ)
    try:
        loaded = asyncio.run(import_dumps(url, args.paths))
    except DumpError as exc:
        print(f"acoustid musicbrainz import: {exc}", file=sys.stderr)
        print("nothing changed: lookups keep the previous MusicBrainz data", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"acoustid musicbrainz import: database {url}: {exc}", file=sys.stderr)
        return 1
    rows = sum(t.rows for t in loaded)
    seconds = sum(t.seconds for t in loaded)
    print(f"imported {rows:,} rows of {len(loaded)} tables in {seconds:.1f} s", file=sys.stderr)
    return 0
