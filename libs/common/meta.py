"""Content ids of user-submitted metadata (track, artist, album, ...), as acoustid.org makes them.

Equal metadata gets the same ``meta.gid`` on every server, so rows dedupe on insert and ids
can be compared across instances.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

META_NAMESPACE = uuid.UUID("3b3bd228-5d2c-11ea-b498-60f67731bf41")
META_FIELDS = ("track", "artist", "album", "album_artist", "track_no", "disc_no", "year")


def clean_meta(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """The non-empty known fields, in the fixed order the content id is computed over."""
    if not meta:
        return {}
    return {name: meta[name] for name in META_FIELDS if meta.get(name) not in (None, "", 0)}


def meta_gid(meta: Mapping[str, Any] | None) -> uuid.UUID:
    text = json.dumps(clean_meta(meta), separators=(",", ":"), ensure_ascii=False)
    return uuid.uuid5(META_NAMESPACE, text)
