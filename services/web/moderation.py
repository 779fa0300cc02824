"""``/edit/toggle-track-mbid``: moderators enable or disable a track's link to a recording.

GET shows what will change and asks for a note; POST makes the change and logs it in
``track_mbid_change`` (ingest database), which the track page shows as its history. The
log row is committed before the link changes: a crash in between leaves a note about a
change that did not happen (visible, and redone by trying again), never a silent change.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, update
from starlette.datastructures import FormData

from libs.common.db import Database
from libs.common.models.fingerprint import TrackMBID
from libs.common.models.ingest import TrackMBIDChange
from services.web import track_data
from services.web.auth import User, require_moderator, resources
from services.web.csrf import verified_form
from services.web.templating import render

router = APIRouter(include_in_schema=False)

PATH = "/edit/toggle-track-mbid"
MAX_NOTE = 2000


async def _target(
    request: Request, track_ref: str, mbid: str, state: str
) -> tuple[track_data.TrackRow, track_data.Link, bool]:
    """The track, its link to ``mbid`` and whether to disable it (state 1) or enable it (0)."""
    if state not in ("0", "1"):
        raise HTTPException(422, "state must be 1 (disable) or 0 (enable).")
    try:
        gid = str(uuid.UUID(mbid))
    except ValueError:
        raise HTTPException(422, "mbid is not a MusicBrainz identifier.") from None
    page = await track_data.current_page(resources(request).databases, track_ref)
    if page is None:
        raise HTTPException(404, "There is no track with this AcoustID.")
    track = page.track
    link = next((x for x in page.links if x.mbid == gid), None)
    if link is None:
        raise HTTPException(404, "This track is not linked to this recording.")
    return track, link, state == "1"


def _track_ref(track_id: str, track_gid: str) -> str:
    ref = track_gid or track_id
    if not ref:
        raise HTTPException(422, "Name the track with track_gid or track_id.")
    return ref


@router.get(PATH, response_class=HTMLResponse)
async def confirm(
    request: Request,
    mbid: str = "",
    state: str = "",
    track_id: str = "",
    track_gid: str = "",
    user: User = Depends(require_moderator),
) -> HTMLResponse:
    track, link, disable = await _target(request, _track_ref(track_id, track_gid), mbid, state)
    return await render(
        request, "toggle_mbid.html", track=track, link=link, disable=disable, error=None, note=""
    )


@router.post(PATH, response_class=HTMLResponse)
async def toggle(
    request: Request,
    user: User = Depends(require_moderator),
    form: FormData = Depends(verified_form),
) -> Response:
    def field(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    ref = _track_ref(field("track_id"), field("track_gid"))
    track, link, disable = await _target(request, ref, field("mbid"), field("state"))
    note = field("note")
    if len(note) > MAX_NOTE:
        return await render(
            request,
            "toggle_mbid.html",
            422,
            track=track,
            link=link,
            disable=disable,
            error=f"The note is longer than {MAX_NOTE} characters.",
            note=note,
        )
    if link.disabled != disable:
        databases = resources(request).databases
        async with databases.session(Database.INGEST) as session:
            session.add(
                TrackMBIDChange(
                    track_mbid_id=link.id, account_id=user.id, disabled=disable, note=note or None
                )
            )
            await session.commit()
        async with databases.session(Database.FINGERPRINT) as session:
            await session.execute(
                update(TrackMBID)
                .where(TrackMBID.id == link.id)
                .values(disabled=disable, updated=func.now())
            )
            await session.commit()
    return RedirectResponse(
        f"/track/{track.gid}" + ("?disabled=1" if disable else ""), status_code=303
    )
