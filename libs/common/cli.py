"""``acoustid``: the one command that runs every service and operation.

Subcommands load their service lazily, so ``acoustid fpcalc`` does not import FastAPI or
open a database, and a service is only imported by the process that runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable

from libs.common.db import Database
from libs.common.settings import SettingsError, get_settings

SERVICES: dict[str, tuple[str, list[str]]] = {
    "api": ("services.api.__main__", []),
    "web": ("services.web.__main__", []),
    "worker": ("services.worker.__main__", []),
    "cron": ("services.worker.cron", []),
    "index": ("services.index.__main__", ["run"]),
}

WAITING: dict[str, str] = {
    "musicbrainz": "importing MusicBrainz dumps arrives with the MusicBrainz data issue",
}


def _entry(module: str) -> Callable[[list[str]], int]:
    main: Callable[[list[str]], int] = importlib.import_module(module).main
    return main


def _run(args: argparse.Namespace, rest: list[str]) -> int:
    module, prefix = SERVICES[args.service]
    return _entry(module)([*prefix, *rest])


def _databases(args: argparse.Namespace) -> list[Database]:
    return [Database(args.database)] if args.database else list(Database)


def _db(args: argparse.Namespace, rest: list[str]) -> int:
    from libs.common import migrations

    settings = get_settings()
    for db in _databases(args):
        if args.action == "create":
            url = migrations.database_url(settings, db)
            created = asyncio.run(migrations.create_database(url))
            print(f"{db.value}: {'created' if created else 'exists'}")
        elif args.action == "upgrade":
            migrations.upgrade(settings, db, args.revision or "head")
        elif args.action == "downgrade":
            migrations.downgrade(settings, db, args.revision or "base")
        else:
            print(f"{db.value}: {migrations.current(settings, db) or 'empty'}")
    return 0


def _index(args: argparse.Namespace, rest: list[str]) -> int:
    return _entry("services.index.__main__")([args.action, *rest])


def _fpcalc(args: argparse.Namespace, rest: list[str]) -> int:
    return _entry("libs.chromaprint_cy.fpcalc")(rest)


def _dev(args: argparse.Namespace, rest: list[str]) -> int:
    return _entry("libs.common.devstack")(rest)


def _account(args: argparse.Namespace, rest: list[str]) -> int:
    return _entry("services.web.accounts_cli")(rest)


def _waiting(args: argparse.Namespace, rest: list[str]) -> int:
    print(f"acoustid {args.command}: {WAITING[args.command]}", file=sys.stderr)
    return 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acoustid", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one service in the foreground")
    run.add_argument("service", choices=sorted(SERVICES))
    run.set_defaults(func=_run)

    db = sub.add_parser("db", help="create and migrate the app, fingerprint and ingest databases")
    db.add_argument("action", choices=["create", "upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: head, downgrade: base)")
    db.add_argument("--database", choices=[d.value for d in Database], help="only this one")
    db.set_defaults(func=_db)

    index = sub.add_parser(
        "index", help="index maintenance (rebuild --help for its options)", add_help=False
    )
    index.add_argument("action", choices=["rebuild"])
    index.set_defaults(func=_index)

    fpcalc = sub.add_parser(
        "fpcalc", help="fingerprint audio files, as Chromaprint's fpcalc", add_help=False
    )
    fpcalc.set_defaults(func=_fpcalc)

    dev = sub.add_parser("dev", help="start the whole stack locally with demo data")
    dev.set_defaults(func=_dev)

    account = sub.add_parser(
        "account", help="website accounts: create, set-admin, set-moderator", add_help=False
    )
    account.set_defaults(func=_account)

    mb = sub.add_parser("musicbrainz", help="MusicBrainz data")
    mb.add_argument("action", choices=["import"])
    mb.add_argument("dump", help="a MusicBrainz dump (mbdump.tar.bz2) or its directory")
    mb.set_defaults(func=_waiting)
    return p


def main(argv: list[str] | None = None) -> int:
    args, rest = parser().parse_known_args(sys.argv[1:] if argv is None else argv)
    if rest and args.command in ("db", "musicbrainz"):
        parser().error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        result: int = args.func(args, rest)
    except SettingsError as exc:
        print(f"acoustid: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
