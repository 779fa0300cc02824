"""``acoustid fpcalc``: Chromaprint's fpcalc, options and output unchanged."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser(
        "fpcalc", help="fingerprint audio files, as Chromaprint's fpcalc", add_help=False
    )
    p.set_defaults(func=run, passthrough=True)


def run(args: argparse.Namespace) -> int:
    from libs.chromaprint_cy.fpcalc import main

    return main(args.rest)
