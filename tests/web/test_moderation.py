"""Moderators enable and disable MBID links; the change is logged and lookups follow it."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
from sqlalchemy import select

from libs.common.db import Database, Databases
from libs.common.models.fingerprint import TrackMBID
from libs.common.models.ingest import TrackMBIDChange
from tests.web.browse_data import add_track, promote
from tests.web.site import WebClient
from tests.web.stack import WebStack

NOTE = "<i>wrong</i> recording, see the edit"


async def _link(stack: WebStack, mbid: str) -> tuple[bool, list[tuple[bool, str | None, int]]]:
    """(disabled, [(disabled, note, account) of each change, oldest first]) of a link."""
    databases = Databases(stack.settings)
    try:
        link_id, disabled = (
            await databases.fetch(
                Database.FINGERPRINT,
                select(TrackMBID.id, TrackMBID.disabled).where(TrackMBID.mbid == uuid.UUID(mbid)),
            )
        )[0]
        changes = await databases.fetch(
            Database.INGEST,
            select(TrackMBIDChange.disabled, TrackMBIDChange.note, TrackMBIDChange.account_id)
            .where(TrackMBIDChange.track_mbid_id == link_id)
            .order_by(TrackMBIDChange.id),
        )
        return bool(disabled), [tuple(row) for row in changes]  # type: ignore[misc]
    finally:
        await databases.dispose()


async def _recordings(stack: WebStack, gid: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=stack.api) as api:
        body = (
            await api.post(
                "/v2/lookup",
                data={"client": stack.seeded.keys.client, "trackid": gid, "meta": "recordingids"},
            )
        ).json()
    return list(body["results"][0].get("recordings", []))


async def _post(site: WebClient, gid: str, mbid: str, state: str, note: str) -> httpx.Response:
    """Posts the moderation form; the CSRF token comes from the header's sign-out form."""
    return await site.submit(
        "/",
        "/edit/toggle-track-mbid",
        {"track_gid": gid, "mbid": mbid, "state": state, "note": note, "submit": "1"},
    )


async def test_moderator_disables_and_enables_a_link_with_notes(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    mbid = str(uuid.uuid4())
    _, gid, _ = await add_track(web_stack.settings, {mbid: False})
    email = await browse_site.sign_up(name="Mod <b>Erator</b>")
    await promote(web_stack.settings, email, is_moderator=True)

    confirm = await browse_site.get(f"/edit/toggle-track-mbid?track_gid={gid}&mbid={mbid}&state=1")
    assert confirm.status_code == 200 and "Disable the link" in confirm.text
    disabled = await _post(browse_site, gid, mbid, "1", NOTE)
    assert disabled.status_code == 303
    assert disabled.headers["location"] == f"/track/{gid}?disabled=1"
    state, changes = await _link(web_stack, mbid)
    assert state is True and [(d, n) for d, n, _ in changes] == [(True, NOTE)]
    assert await _recordings(web_stack, gid) == []

    page = await browse_site.get(f"/track/{gid}")
    assert "linked to 0 MusicBrainz recordings" in page.text and "Editing history" in page.text
    assert "&lt;i&gt;wrong&lt;/i&gt; recording" in page.text and NOTE not in page.text
    assert "Mod &lt;b&gt;Erator&lt;/b&gt;" in page.text

    enabled = await _post(browse_site, gid, mbid, "0", "")
    assert enabled.headers["location"] == f"/track/{gid}"
    state, changes = await _link(web_stack, mbid)
    assert state is False and [(d, n) for d, n, _ in changes] == [(True, NOTE), (False, None)]
    assert await _recordings(web_stack, gid) == [{"id": mbid}]
    history = (await browse_site.get(f"/track/{gid}")).text
    assert history.index("<td>Enabled</td>") < history.index("<td>Disabled</td>")  # newest first

    again = await _post(browse_site, gid, mbid, "0", "no change")
    assert again.status_code == 303 and len((await _link(web_stack, mbid))[1]) == 2


async def test_only_moderators_may_edit_and_bad_requests_change_nothing(
    browse_site: WebClient, web_stack: WebStack
) -> None:
    mbid = str(uuid.uuid4())
    _, gid, _ = await add_track(web_stack.settings, {mbid: False})
    path = f"/edit/toggle-track-mbid?track_gid={gid}&mbid={mbid}&state=1"
    anonymous = await browse_site.get(path)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?return_url={quote(path, safe='')}"

    email = await browse_site.sign_up()
    assert (await browse_site.get(path)).status_code == 403
    page = await browse_site.get(f"/track/{gid}")
    assert "Editing history" not in page.text and "/edit/toggle-track-mbid" not in page.text

    await promote(web_stack.settings, email, is_moderator=True)
    no_token = await browse_site.http.post(
        "/edit/toggle-track-mbid", data={"track_gid": gid, "mbid": mbid, "state": "1"}
    )
    assert no_token.status_code == 403
    wrong_state = await _post(browse_site, gid, mbid, "7", "")
    assert wrong_state.status_code == 422
    not_linked = await _post(browse_site, gid, str(uuid.uuid4()), "1", "")
    assert not_linked.status_code == 404 and "not linked to this recording" in not_linked.text
    too_long = await _post(browse_site, gid, mbid, "1", "x" * 2001)
    assert too_long.status_code == 422 and "longer than 2000 characters" in too_long.text
    assert await _link(web_stack, mbid) == (False, [])
