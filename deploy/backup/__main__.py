"""``python -m deploy.backup DEST``: the daily backup of the stack the ACOUSTID_ settings name.

The databases and index shards are reached through their URLs; Redis's and JetStream's
files are copied from this host's directories when they are named.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from httpx import HTTPError
from redis import RedisError

from deploy.backup.take import Sources, take
from libs.common.pgcluster import ClusterError
from libs.common.settings import SettingsError, load_settings


def index_dir(value: str) -> tuple[int, Path]:
    shard, sep, path = value.partition("=")
    if not sep or not shard.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r}: expected SHARD=PATH")
    return int(shard), Path(path)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m deploy.backup", description=__doc__)
    p.add_argument("dest", type=Path, help="a new directory for this backup")
    p.add_argument("--redis-dir", type=Path, help="Redis's dir (copies its RDB and AOF)")
    p.add_argument("--nats-store", type=Path, help="nats-server's -sd directory")
    p.add_argument(
        "--index-dir",
        type=index_dir,
        action="append",
        default=[],
        help="SHARD=PATH: also copy that shard's segment files",
    )
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    sources = Sources(args.redis_dir, args.nats_store, dict(args.index_dir))
    try:
        record = take(load_settings(), args.dest, sources)
    except (SettingsError, ClusterError, OSError, RuntimeError, HTTPError, RedisError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
