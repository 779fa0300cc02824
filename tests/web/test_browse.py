"""Track, recording, fingerprint and search pages over HTTP, against imported real data."""

from __future__ import annotations

import io
import json
import re
import uuid

import numpy as np
from PIL import Image

from libs.chromaprint_cy.audio import fingerprint_file
from libs.chromaprint_cy.codec import encode_fingerprint
from services.web.fingerprint_picture import CELL_HEIGHT, CELL_WIDTH, GAP
from tests.web.browse_data import add_track, fingerprint_of, track_id
from tests.web.site import WebClient
from tests.web.stack import MELODY, MELODY_MBID, SPEECH_MBID, XSS_ARTIST, XSS_TITLE, WebStack


async def test_track_page_shows_fingerprints_recordings_and_user_metadata_as_text(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    page = await browse_site.get(f"/track/{web_stack.seeded.track}")
    assert page.status_code == 200
    text = page.text
    assert "This track has 1 fingerprint and is linked to 1 MusicBrainz recording." in text
    assert f'href="/mbid/{MELODY_MBID}"' in text
    fp_id, _ = await fingerprint_of(web_stack.settings, web_stack.seeded.track)
    assert f'<a href="/fingerprint/{fp_id}">{fp_id}</a>' in text
    assert "Additional user-submitted metadata" in text
    assert XSS_TITLE not in text and XSS_ARTIST not in text
    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(&#34;artist&#34;)&gt;" in text
    assert "Editing history" not in text  # moderators only


async def test_track_by_numeric_id_and_unknown_tracks(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    numeric = await track_id(web_stack.settings, web_stack.seeded.track)
    page = await browse_site.get(f"/track/{numeric}")
    assert page.status_code == 200 and web_stack.seeded.track in page.text
    for ref in (str(uuid.uuid4()), "999999999", "not-a-track", "<b>x"):
        missing = await browse_site.get(f"/track/{ref}")
        assert missing.status_code == 404
        assert "There is no track with this AcoustID." in missing.text


async def test_merged_track_redirects_to_the_track_it_went_into(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    target = await track_id(web_stack.settings, web_stack.seeded.track)
    _, middle, _ = await add_track(web_stack.settings, {}, merged_into=target)
    middle_id = await track_id(web_stack.settings, middle)
    _, old, _ = await add_track(web_stack.settings, {}, merged_into=middle_id)
    page = await browse_site.get(f"/track/{old}")
    assert page.status_code == 301
    assert page.headers["location"] == f"/track/{web_stack.seeded.track}"


async def test_disabled_links_are_shown_only_when_asked(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    enabled, disabled = str(uuid.uuid4()), str(uuid.uuid4())
    _, gid, _ = await add_track(web_stack.settings, {enabled: False, disabled: True})
    page = await browse_site.get(f"/track/{gid}")
    assert "linked to 1 MusicBrainz recording." in page.text
    assert enabled in page.text and disabled not in page.text
    assert f'href="/track/{gid}?disabled=1">Show 1 disabled recording<' in page.text
    shown = await browse_site.get(f"/track/{gid}?disabled=1")
    assert disabled in shown.text and "disabled</span>" in shown.text
    assert "Hide 1 disabled recording" in shown.text


async def test_mbid_page_lists_linked_tracks(browse_site: WebClient, web_stack: WebStack) -> None:
    page = await browse_site.get(f"/mbid/{SPEECH_MBID}")
    assert page.status_code == 200
    assert f'href="/track/{web_stack.seeded.other_track}"' in page.text
    assert web_stack.seeded.track not in page.text
    for mbid in (str(uuid.uuid4()), "nonsense"):
        unknown = await browse_site.get(f"/mbid/{mbid}")
        assert unknown.status_code == 404 and "Incorrect recording" in unknown.text


def _png(response_bytes: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(response_bytes))
    assert image.format == "PNG"
    return np.asarray(image.convert("L"))


def _cell(pixels: np.ndarray, row: int, bit: int) -> int:
    return int(pixels[row * CELL_HEIGHT, bit * CELL_WIDTH])


async def test_fingerprint_picture_has_one_row_per_item_and_white_set_bits(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    fp_id, items = await fingerprint_of(web_stack.settings, web_stack.seeded.track)
    page = await browse_site.get(f"/fingerprint/{fp_id}")
    assert page.status_code == 200
    assert f'src="/fingerprint/{fp_id}/image.png"' in page.text
    assert f'href="/track/{web_stack.seeded.track}"' in page.text
    picture = await browse_site.get(f"/fingerprint/{fp_id}/image.png")
    assert picture.headers["content-type"] == "image/png"
    pixels = _png(picture.content)
    assert pixels.shape == (len(items) * CELL_HEIGHT, 32 * CELL_WIDTH)
    for row in (0, len(items) // 2, len(items) - 1):
        for bit in range(32):
            assert _cell(pixels, row, bit) == (255 if items[row] >> bit & 1 else 0)
    missing = await browse_site.get("/fingerprint/99999999")
    assert missing.status_code == 404
    assert (await browse_site.get("/fingerprint/99999999/image.png")).status_code == 404


async def test_compare_preselects_compare2s_offset_and_xors_there(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    fp_id, items = await fingerprint_of(web_stack.settings, web_stack.seeded.track)
    shift = 12
    _, _, (shifted_id,) = await add_track(web_stack.settings, {}, [items[shift:]])
    page = await browse_site.get(f"/fingerprint/{fp_id}/compare/{shifted_id}")
    assert page.status_code == 200
    assert f"best at offset {shift}" in page.text
    assert f"<dd>{shift} (the best)</dd>" in page.text
    assert "<dd>0 (0.0%)</dd>" in page.text  # the same items, lined up
    diff = _png(
        (await browse_site.get(f"/fingerprint/{fp_id}/compare/{shifted_id}/diff.png")).content
    )
    assert {_cell(diff, row, bit) for row in range(shift) for bit in range(32)} == {GAP}
    assert {_cell(diff, row, 3) for row in range(shift, len(items))} == {0}

    moved = await browse_site.get(f"/fingerprint/{fp_id}/compare/{shifted_id}?offset=0")
    assert "<dd>0</dd>" in moved.text
    rate = re.search(r"Differing bits</dt><dd>[\d,]+ \(([\d.]+)%\)", moved.text)
    assert rate and float(rate.group(1)) > 20
    assert f'href="?offset={shift}">Back to the best offset' in moved.text
    bad = await browse_site.get(f"/fingerprint/{fp_id}/compare/{shifted_id}?offset=up")
    assert bad.status_code == 422
    other_page = await browse_site.get(f"/fingerprint/{fp_id}?other={shifted_id}")
    assert other_page.status_code == 303
    assert other_page.headers["location"] == f"/fingerprint/{fp_id}/compare/{shifted_id}"


async def test_search_box_finds_tracks_and_recordings_by_id(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    by_track = await browse_site.get("/search", params={"q": f" {web_stack.seeded.track} "})
    assert by_track.status_code == 303
    assert by_track.headers["location"] == f"/track/{web_stack.seeded.track}"
    by_mbid = await browse_site.get("/search", params={"q": MELODY_MBID.upper()})
    assert by_mbid.status_code == 303 and by_mbid.headers["location"] == f"/mbid/{MELODY_MBID}"
    unknown = await browse_site.get("/search", params={"q": str(uuid.uuid4())})
    assert unknown.status_code == 404 and "No AcoustID and no linked" in unknown.text
    garbage = await browse_site.get("/search", params={"q": "<b>hello</b>"})
    assert garbage.status_code == 422
    assert "This is not an AcoustID, a MusicBrainz recording ID or a fingerprint" in garbage.text
    assert "<b>hello</b>" not in garbage.text
    empty = await browse_site.get("/search")
    assert empty.status_code == 200 and "paste what <code>fpcalc</code>" in empty.text


async def test_search_box_looks_up_pasted_fpcalc_output(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    duration, items = fingerprint_file(str(MELODY))
    fingerprint = encode_fingerprint(items)
    pastes = [
        f"DURATION={int(duration)}\nFINGERPRINT={fingerprint}",
        f"DURATION={int(duration)}FINGERPRINT={fingerprint}",  # a one-line box joins the lines
        json.dumps({"duration": duration, "fingerprint": fingerprint}),
        f"DURATION={int(duration)}\nFINGERPRINT={','.join(map(str, items.tolist()))}",
        fingerprint,  # the clip is shorter than two minutes: its items tell its length
    ]
    for paste in pastes:
        page = await browse_site.get("/search", params={"q": paste})
        assert page.status_code == 200, page.text
        assert f'<a href="/track/{web_stack.seeded.track}">' in page.text, paste[:40]
        assert MELODY_MBID in page.text


async def test_search_asks_for_the_duration_of_a_two_minute_fingerprint(
    browse_site: WebClient,
) -> None:
    items = np.random.default_rng(5).integers(0, 2**32, 1000, dtype=np.uint64).astype(np.uint32)
    page = await browse_site.get("/search", params={"q": encode_fingerprint(items)})
    assert page.status_code == 200
    assert 'name="duration"' in page.text and "enter the file's length" in page.text.lower()
    answered = await browse_site.get(
        "/search", params={"q": encode_fingerprint(items), "duration": "300"}
    )
    assert "No AcoustID matches this audio." in answered.text
