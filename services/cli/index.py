"""``acoustid index rebuild``: index maintenance; the rebuild parses its own options."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "index", help="index maintenance (rebuild --help for its options)", add_help=False
    )
    p.add_argument("action", choices=["rebuild"])
    p.set_defaults(func=run, passthrough=True)


def run(args: argparse.Namespace) -> int:
    from services.index.rebuild import main

    return main(args.rest)
