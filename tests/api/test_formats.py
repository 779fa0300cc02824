"""Serialisation byte for byte: what clients that compare raw text see."""

from __future__ import annotations

import pytest

from services.api.formats import DEFAULT_CALLBACK, Format, jsonp_callback, serialize, singular
from services.api.params import Params

pytestmark = pytest.mark.quick

ERROR = {"status": "error", "error": {"code": 4, "message": "invalid API key"}}
RESULTS = {
    "status": "ok",
    "results": [{"id": "9ff43b6a-4f16-427c-93c2-92307ca505e0", "score": 1.0, "recordings": []}],
}


def test_json_sorts_keys_with_default_separators() -> None:
    assert serialize(ERROR, Format.JSON) == (
        b'{"error": {"code": 4, "message": "invalid API key"}, "status": "error"}'
    )


def test_json_escapes_non_ascii() -> None:
    assert serialize({"status": "ok", "t": "Título"}, Format.JSON) == (
        b'{"status": "ok", "t": "T\\u00edtulo"}'
    )


def test_jsonp_wraps_in_the_callback() -> None:
    assert serialize({"status": "ok"}, Format.JSONP, "cb.x") == b'cb.x({"status": "ok"})'


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (None, DEFAULT_CALLBACK),
        ("", DEFAULT_CALLBACK),
        ("foo", "foo"),
        ("$.a_b.c1", "$.a_b.c1"),
        ("1abc", DEFAULT_CALLBACK),
        ("alert(1);x", DEFAULT_CALLBACK),
        ("a..b", DEFAULT_CALLBACK),
    ],
)
def test_jsonp_callback_falls_back_silently(given: str | None, used: str) -> None:
    assert jsonp_callback(given) == used


def test_xml_error_envelope() -> None:
    assert serialize(ERROR, Format.XML) == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b"<response><error><code>4</code><message>invalid API key</message></error>"
        b"<status>error</status></response>"
    )


def test_xml_lists_singular_items_scalars_as_str_and_attributes() -> None:
    payload = {
        "status": "ok",
        "results": RESULTS["results"],
        "releasegroups": [],
        "mbids": ["a", "b"],
        "none": None,
        "flag": True,
        "@attr": 1,
    }
    assert serialize(payload, Format.XML) == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n"
        b'<response attr="1"><flag>True</flag><mbids><mbid>a</mbid><mbid>b</mbid></mbids>'
        b"<none>None</none><releasegroups /><results><result>"
        b"<id>9ff43b6a-4f16-427c-93c2-92307ca505e0</id><recordings /><score>1.0</score>"
        b"</result></results><status>ok</status></response>"
    )


@pytest.mark.parametrize(
    ("plural", "one"),
    [
        ("results", "result"),
        ("releasegroups", "releasegroup"),
        ("secondarytypes", "secondarytype"),
        ("releaseevents", "releaseevent"),
        ("mediums", "medium"),
        ("isrcs", "isrc"),
        ("entries", "entry"),
        ("stats", "stat"),
    ],
)
def test_singular(plural: str, one: str) -> None:
    assert singular(plural) == one


def test_params_suffixes_unsuffixed_first_then_numeric() -> None:
    params = Params(
        [
            ("fingerprint.10", "a"),
            ("fingerprint.2", "b"),
            ("trackid", "c"),
            ("duration.7", "d"),
            ("fingerprint.x", "e"),
        ]
    )
    assert params.suffixes("fingerprint", "trackid") == ["", "2", "10"]


def test_params_keep_repeated_values_in_order() -> None:
    params = Params([("mbid", "a"), ("id", "1"), ("mbid", "b")])
    assert params.getall("mbid") == ["a", "b"]
    assert params.get("mbid") == "a"
    assert params.get("nope") is None
