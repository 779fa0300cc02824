"""The manifest: which file segments are live and which stream sequence they cover.

It is the single commit point of checkpoints and merges: a segment file that the manifest
does not name is garbage from a crash, and ``applied_seq`` is where replay resumes. It is
written to a temp file, fsynced, renamed over the old one and the directory fsynced, so a
crash leaves either the old or the new manifest, never a torn one.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from services.index import durable

NAME = "manifest.json"
FORMAT = 1


class CorruptManifest(Exception):
    """The manifest cannot be read back; the index refuses to guess its segments."""


@dataclass(frozen=True)
class Manifest:
    segments: tuple[str, ...] = ()
    applied_seq: int = 0
    attributes: dict[str, str] = field(default_factory=dict)
    generation: int = 1


def load(directory: Path) -> Manifest | None:
    """The manifest in ``directory``, or None for a fresh index."""
    path = directory / NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        doc = json.loads(raw)
        body = json.dumps(doc["body"], sort_keys=True).encode()
        if doc["format"] != FORMAT or zlib.crc32(body) != doc["crc32"]:
            raise CorruptManifest(f"{path}: checksum or format mismatch")
        b = doc["body"]
        return Manifest(
            tuple(b["segments"]), int(b["applied_seq"]), dict(b["attributes"]), int(b["generation"])
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise CorruptManifest(f"{path}: {exc}") from exc


def save(directory: Path, manifest: Manifest) -> None:
    body = {
        "segments": list(manifest.segments),
        "applied_seq": manifest.applied_seq,
        "attributes": manifest.attributes,
        "generation": manifest.generation,
    }
    blob = json.dumps(body, sort_keys=True).encode()
    doc = {"format": FORMAT, "crc32": zlib.crc32(blob), "body": body}
    durable.replace(directory / NAME, lambda f: f.write(json.dumps(doc, sort_keys=True).encode()))
