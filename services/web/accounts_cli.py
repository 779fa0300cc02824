"""``acoustid account``: operators create website accounts and appoint admins and moderators.

Passwords are never taken as arguments (they would sit in the shell history and in ``ps``):
they are prompted for, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from libs.common.db import Database, Databases
from libs.common.settings import get_settings
from services.web.account_store import AccountError, create_account, set_role


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="acoustid account", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create an account that signs in with email+password")
    create.add_argument("--email", required=True)
    create.add_argument("--name", help="display name (default: the part of the email before @)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.add_argument("--admin", action="store_true", help="make it an admin too")
    create.add_argument("--moderator", action="store_true", help="make it a moderator too")
    for role in ("admin", "moderator"):
        grant = sub.add_parser(f"set-{role}", help=f"grant (or --revoke) the {role} role")
        grant.add_argument("email")
        grant.add_argument("--revoke", action="store_true", help=f"take the {role} role away")
    return p


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AccountError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise AccountError("the two passwords differ")
    return first


async def _create(args: argparse.Namespace, password: str) -> str:
    databases = Databases(get_settings())
    try:
        async with databases.session(Database.APP) as session:
            name = args.name or args.email.split("@")[0]
            account = await create_account(session, name, args.email, password)
            for role in ("admin", "moderator"):
                if getattr(args, role):
                    await set_role(session, args.email, role, True)
            return (
                f"created account {account.id} for {account.email}, user API key {account.apikey}"
            )
    finally:
        await databases.dispose()


async def _set_role(args: argparse.Namespace, role: str) -> str:
    databases = Databases(get_settings())
    try:
        async with databases.session(Database.APP) as session:
            if not await set_role(session, args.email, role, not args.revoke):
                raise AccountError(f"no account has the email address {args.email}")
    finally:
        await databases.dispose()
    return f"{args.email}: {role} {'revoked' if args.revoke else 'granted'}"


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.action == "create":
            message = asyncio.run(_create(args, _read_password(args.password_stdin)))
        else:
            message = asyncio.run(_set_role(args, args.action.removeprefix("set-")))
    except AccountError as exc:
        print(f"acoustid account: {exc}", file=sys.stderr)
        return 1
    print(message)
    return 0
