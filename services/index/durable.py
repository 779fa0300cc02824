"""Crash-safe file replacement, the one way segments and the manifest reach the disk.

Write a temp file, fsync it, rename it over the target, fsync the directory: after a crash
the path holds either the old content or the new, never a torn mix, and a rename that was
acknowledged survives power loss.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TMP_SUFFIX = ".tmp"


def replace(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Atomically replaces ``path`` with what ``fill`` writes to the open temp file."""
    tmp = path.with_name(path.name + TMP_SUFFIX)
    with open(tmp, "wb") as f:
        fill(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
