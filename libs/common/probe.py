"""``python -m libs.common.probe URL``: exit 0 when URL answers 200, else 1 with the reason.

The containers' health check. The images carry no curl or wget, and a probe in the
project's own Python needs nothing installed beyond what the service already runs on.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

TIMEOUT = 4.0


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m libs.common.probe URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(argv[0], timeout=TIMEOUT) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        body = exc.read().decode("utf-8", "replace").strip()
        print(f"{argv[0]}: HTTP {exc.code} {body}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{argv[0]}: {exc}", file=sys.stderr)
        return 1
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
