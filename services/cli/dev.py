"""``acoustid dev``: what ``make dev`` runs (see ``services.cli.devstack``)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser("dev", help="start the whole stack locally with demo data")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from services.cli.devstack import main

    return main([])
