"""``python -m services.index [run | rebuild ... | restore ...]``: serve the index, rebuild
it from the database, or restore it from a snapshot file."""

from __future__ import annotations

import sys

from libs.common.server import run_service


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if command == "run" and not rest:
        from services.index.app import create_app

        return run_service(create_app, "index", lambda s: s.index_port)
    if command == "rebuild":
        from services.index.rebuild import main as rebuild

        return rebuild(rest)
    if command == "restore":
        from services.index.restore import main as restore

        return restore(rest)
    print("usage: python -m services.index [run | rebuild | restore [--help]]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
