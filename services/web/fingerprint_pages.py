"""``/fingerprint/<id>`` and ``/fingerprint/<a>/compare/<b>``: fingerprints as pictures.

Pictures are separate PNG responses (``.../image.png``), so the pages stay small and a
picture can be opened, saved or linked on its own. The compare page lines the two
fingerprints up at an offset, by default the one compare2 chose, and Move up/down links
step through the others without any script.
"""

from __future__ import annotations

import numpy as np
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.web import fingerprint_picture as pictures
from services.web import track_data
from services.web.auth import resources
from services.web.templating import render

router = APIRouter(include_in_schema=False)

CACHE = {"Cache-Control": "public, max-age=86400"}
PARTS = ("a", "b", "diff")


async def _fingerprint(request: Request, fingerprint_id: int) -> tuple[np.ndarray, int, str]:
    found = await track_data.fingerprint_items(resources(request).databases, fingerprint_id)
    if found is None:
        raise HTTPException(404, f"There is no fingerprint {fingerprint_id}.")
    items, length, gid = found
    return np.asarray(items, dtype=np.int64) & 0xFFFFFFFF, length, gid


@router.get("/fingerprint/{fingerprint_id}", response_class=HTMLResponse)
async def fingerprint(request: Request, fingerprint_id: int, other: str = "") -> Response:
    if other.strip():
        if not other.strip().isdigit():
            raise HTTPException(422, "Enter the number of the fingerprint to compare with.")
        return RedirectResponse(
            f"/fingerprint/{fingerprint_id}/compare/{int(other)}", status_code=303
        )
    items, length, gid = await _fingerprint(request, fingerprint_id)
    width, height = pictures.picture_size(len(items))
    return await render(
        request,
        "fingerprint.html",
        id=fingerprint_id,
        items=len(items),
        length=length,
        track=gid,
        width=width,
        height=height,
        cut=len(items) > pictures.MAX_ROWS,
        max_rows=pictures.MAX_ROWS,
    )


@router.get("/fingerprint/{fingerprint_id}/image.png")
async def fingerprint_image(request: Request, fingerprint_id: int) -> Response:
    items, _, _ = await _fingerprint(request, fingerprint_id)
    return Response(pictures.fingerprint_png(items), media_type="image/png", headers=CACHE)


async def _alignment(
    request: Request, a_id: int, b_id: int, offset: str
) -> tuple[float, pictures.Alignment, int, tuple[int, str], tuple[int, str]]:
    a, a_length, a_track = await _fingerprint(request, a_id)
    b, b_length, b_track = await _fingerprint(request, b_id)
    score, best = pictures.best_alignment(a, b, resources(request).settings.track_max_offset)
    chosen = best.offset
    if offset.strip():
        try:
            chosen = int(offset)
        except ValueError:
            raise HTTPException(422, "The offset must be a whole number.") from None
    limit = pictures.max_offset(a, b)
    chosen = max(-limit, min(limit, chosen))
    return (
        score,
        pictures.Alignment(a, b, chosen),
        best.offset,
        (a_length, a_track),
        (b_length, b_track),
    )


@router.get("/fingerprint/{a_id}/compare/{b_id}", response_class=HTMLResponse)
async def compare(request: Request, a_id: int, b_id: int, offset: str = "") -> HTMLResponse:
    score, aligned, best, (a_length, a_track), (b_length, b_track) = await _alignment(
        request, a_id, b_id, offset
    )
    width, height = pictures.picture_size(aligned.rows)
    return await render(
        request,
        "compare.html",
        a=a_id,
        b=b_id,
        a_track=a_track,
        b_track=b_track,
        a_length=a_length,
        b_length=b_length,
        score=score,
        best=best,
        aligned=aligned,
        rate=aligned.bit_error_rate,
        overlap=len(aligned.overlap[0]),
        width=width,
        height=height,
        limit=pictures.max_offset(aligned.a, aligned.b),
    )


@router.get("/fingerprint/{a_id}/compare/{b_id}/{part}.png")
async def compare_image(
    request: Request, a_id: int, b_id: int, part: str, offset: str = ""
) -> Response:
    if part not in PARTS:
        raise HTTPException(404, "No such picture.")
    _, aligned, _, _, _ = await _alignment(request, a_id, b_id, offset)
    png = aligned.diff_png() if part == "diff" else aligned.side_png(part)
    return Response(png, media_type="image/png", headers=CACHE)
