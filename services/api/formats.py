"""The three response formats of acoustid.org, byte for byte.

Clients parse these with ordinary JSON/XML libraries, but golden tests and some scripts
compare raw text, so key order, separators, XML element names and the JSONP fallback follow
the original exactly: sorted keys, ``", "``/``": "`` separators, ASCII-escaped JSON, list
items named by naive singularisation of their parent, scalars rendered with ``str()``.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any
from xml.etree import ElementTree

DEFAULT_CALLBACK = "jsonAcoustidApi"
_CALLBACK = re.compile(r"[$A-Za-z_][0-9A-Za-z_]*(\.[$A-Za-z_][0-9A-Za-z_]*)*")


class Format(StrEnum):
    JSON = "json"
    JSONP = "jsonp"
    XML = "xml"


CONTENT_TYPES = {
    Format.JSON: "application/json; charset=UTF-8",
    Format.JSONP: "application/javascript; charset=UTF-8",
    Format.XML: "text/xml; charset=UTF-8",
}


def jsonp_callback(value: str | None) -> str:
    """An invalid callback silently becomes the default, as the original does."""
    if value and _CALLBACK.fullmatch(value):
        return value
    return DEFAULT_CALLBACK


def singular(name: str) -> str:
    """``results`` -> ``result``, ``releasegroups`` -> ``releasegroup``, ``ies`` -> ``y``."""
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s"):
        return name[:-1]
    raise ValueError(f"cannot name the items of list {name!r}")


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            item = value[key]
            if key.startswith("@"):
                element.set(key[1:], str(item))
            elif isinstance(item, list):
                container = ElementTree.SubElement(element, key)
                child_name = singular(key)
                for child in item:
                    _fill(ElementTree.SubElement(container, child_name), child)
            else:
                _fill(ElementTree.SubElement(element, key), item)
    else:
        element.text = str(value)


def to_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True).encode()


def to_xml(payload: dict[str, Any]) -> bytes:
    root = ElementTree.Element("response")
    _fill(root, payload)
    body: bytes = ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)
    return body


def serialize(payload: dict[str, Any], fmt: Format, callback: str = DEFAULT_CALLBACK) -> bytes:
    if fmt is Format.XML:
        return to_xml(payload)
    if fmt is Format.JSONP:
        return callback.encode() + b"(" + to_json(payload) + b")"
    return to_json(payload)
