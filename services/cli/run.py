"""``acoustid run SERVICE``: one service in the foreground until SIGTERM."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

SERVICES = {
    "api": "services.api.__main__",
    "web": "services.web.__main__",
    "worker": "services.worker.__main__",
    "cron": "services.worker.cron",
    "index": "services.index.__main__",
}


def register(commands: argparse._SubParsersAction[Any]) -> None:
    p = commands.add_parser("run", help="run one service in the foreground")
    p.add_argument("service", choices=sorted(SERVICES))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    main: Callable[[list[str]], int] = importlib.import_module(SERVICES[args.service]).main
    return main([])
