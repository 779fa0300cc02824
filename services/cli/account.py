"""``acoustid account create|set-admin|set-moderator``: website accounts for operators."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "account", help="website accounts: create, set-admin, set-moderator", add_help=False
    )
    p.set_defaults(func=run, passthrough=True)


def run(args: argparse.Namespace) -> int:
    from services.web.accounts_cli import main

    return main(args.rest)
