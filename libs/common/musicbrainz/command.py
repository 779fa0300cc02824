"""``acoustid musicbrainz import|sample``: the command behind the CLI entry."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg

from libs.common.db import Database, database_url
from libs.common.musicbrainz import importer, sample
from libs.common.musicbrainz.dump import DumpError
from libs.common.settings import get_settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="acoustid musicbrainz", description="Load MusicBrainz data for lookups."
    )
    sub = p.add_subparsers(dest="action", required=True)
    load = sub.add_parser(
        "import",
        help="load MusicBrainz data dumps into the musicbrainz tables",
        description="Load the tables lookups read from MusicBrainz data dumps "
        "(mbdump.tar.bz2, mbdump-derived.tar.bz2, or their unpacked directories) into "
        "ACOUSTID_MUSICBRAINZ_DATABASE_URL (default: the app database, schema musicbrainz). "
        "The previous data answers lookups until the new dump is completely loaded.",
    )
    load.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="a dump file or dir")
    make = sub.add_parser("sample", help="write the project's sample dump (OUT_DIR/mbdump.tar.bz2)")
    make.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.action == "sample":
        print(sample.write_sample(args.out_dir))
        return 0
    url = database_url(get_settings(), Database.MUSICBRAINZ)
    try:
        loaded = asyncio.run(importer.import_dumps(url, args.paths))
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
