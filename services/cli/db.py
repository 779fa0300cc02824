"""``acoustid db ACTION``: create and migrate the app, fingerprint, ingest and musicbrainz
databases (the MusicBrainz tables share the app database unless
``ACOUSTID_MUSICBRAINZ_DATABASE_URL`` names another)."""

from __future__ import annotations

import argparse
from typing import Any

DATABASES = ("app", "fingerprint", "ingest", "musicbrainz")


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "db", help="create and migrate the app, fingerprint, ingest and musicbrainz databases"
    )
    p.add_argument("action", choices=["create", "upgrade", "downgrade", "current"])
    p.add_argument("revision", nargs="?", help="target revision (upgrade: head, downgrade: base)")
    p.add_argument("--database", choices=DATABASES, help="only this one")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from libs.common import migrations
    from libs.common.db import Database
    from libs.common.settings import get_settings

    settings = get_settings()
    for db in [Database(args.database)] if args.database else list(Database):
        if args.action == "create":
            created = asyncio.run(migrations.create_database(migrations.database_url(settings, db)))
            print(f"{db.value}: {'created' if created else 'exists'}")
        elif args.action == "upgrade":
            migrations.upgrade(settings, db, args.revision or "head")
        elif args.action == "downgrade":
            migrations.downgrade(settings, db, args.revision or "base")
        else:
            print(f"{db.value}: {migrations.current(settings, db) or 'empty'}")
    return 0
