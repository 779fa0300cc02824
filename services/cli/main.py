"""``acoustid``: the one command that runs every service and operation.

A subcommand is a module with a ``register(commands)`` function, named in ``COMMANDS``; it adds
its parser and sets ``func`` (and ``passthrough=True`` when the command parses its own options
from ``args.rest``). Building the parser imports only these small modules: a handler imports its
service when it runs, so ``acoustid fpcalc`` loads fingerprinting and nothing else, and a
service is only imported by the process that runs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = (
    "services.cli.run",
    "services.cli.db",
    "services.cli.dev",
    "services.cli.fpcalc",
    "services.cli.index",
    "services.cli.application",
    "services.cli.musicbrainz",
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="acoustid", description="The one command that runs every service and operation."
    )
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).register(commands)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args, rest = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    if rest and not getattr(args, "passthrough", False):
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    try:
        return int(args.func(args))
    except Exception as exc:
        # Imported here: most commands never load the settings, and fpcalc must start fast.
        from libs.common.settings import SettingsError

        if not isinstance(exc, SettingsError):
            raise
        print(f"acoustid: {exc}", file=sys.stderr)
        return 2
