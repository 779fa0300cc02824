"""``acoustid application add|list``: client keys an operator registers without the website.

``add --known-clients`` registers the keys built into Picard and beets, each as its own
application, so those programs work unmodified against this instance.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser("application", help="register and list client applications (keys)")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an application; prints its id and key")
    which = add.add_mutually_exclusive_group(required=True)
    which.add_argument("--name", help="the application's name, e.g. Picard")
    which.add_argument(
        "--known-clients",
        action="store_true",
        help="add the keys built into Picard (v8pQ6oyB) and beets (1vOwZtEn)",
    )
    add.add_argument("--key", help="the client key to accept (default: a new random key)")
    add.add_argument("--version", default="", help="the application's version")
    add.add_argument("--email", help="who to contact about it")
    add.set_defaults(func=run)
    listing = actions.add_parser("list", help="every application: id, key, active, name")
    listing.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from libs.common.applications import ApplicationError

    try:
        return asyncio.run(_run(args))
    except ApplicationError as exc:
        print(f"acoustid application: {exc}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace) -> int:
    from libs.common import applications
    from libs.common.db import Database, Databases
    from libs.common.settings import get_settings

    if args.action == "add" and args.known_clients and args.key:
        raise applications.ApplicationError("--key goes with --name, not --known-clients")
    databases = Databases(get_settings())
    try:
        async with databases.session(Database.APP) as session:
            if args.action == "list":
                for app in await applications.list_applications(session):
                    state = "active" if app.active else "inactive"
                    print(f"{app.id}\t{app.apikey}\t{state}\t{app.name}")
                return 0
            if args.known_clients:
                added = await applications.ensure_known_clients(session)
            else:
                added = [
                    await applications.add_application(
                        session, args.name, args.key, args.version, args.email
                    )
                ]
            for app, created in added:
                verb = "added" if created else "exists"
                print(f"{verb}: application {app.id} {app.name} key {app.apikey}")
    finally:
        await databases.dispose()
    return 0
