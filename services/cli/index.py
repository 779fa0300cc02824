"""``acoustid index rebuild|restore``: index maintenance; each parses its own options."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "index",
        help="index maintenance (rebuild --help, restore --help for their options)",
        add_help=False,
    )
    p.add_argument("action", choices=["rebuild", "restore"])
    p.set_defaults(func=run, passthrough=True)


def run(args: argparse.Namespace) -> int:
    if args.action == "restore":
        from services.index.restore import main
    else:
        from services.index.rebuild import main
    return main(args.rest)
