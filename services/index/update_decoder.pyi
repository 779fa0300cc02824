"""Typing stub of the compiled ``_update`` body reader (see update_decoder.pyx)."""

from libs.common.index_messages import Batch

def decode(body: bytes) -> tuple[Batch, int | None] | None: ...
