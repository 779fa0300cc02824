"""Identify by upload over HTTP: every accepted format finds the track, and every kind of bad
file gets its message on the page, never a 500."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from services.web import identify_page
from tests.conftest import closed_port_url
from tests.web.site import WebClient
from tests.web.stack import MELODY, MELODY_MBID, WebStack

FORMATS = {
    "melody.mp3": ["-c:a", "libmp3lame", "-b:a", "128k"],
    "melody.ogg": ["-c:a", "libvorbis", "-q:a", "4"],
    "melody.opus": ["-c:a", "libopus", "-b:a", "96k"],
    "melody.m4a": ["-c:a", "aac", "-b:a", "128k"],
    "melody.wav": ["-c:a", "pcm_s16le", "-ac", "1", "-ar", "22050"],
}


def ffmpeg(source: Path, target: Path, *args: str) -> Path:
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(source), *args, str(target)], check=True
    )
    return target


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("uploads")
    files = {name: ffmpeg(MELODY, folder / name, *args) for name, args in FORMATS.items()}
    files["melody.flac"] = MELODY
    files["short.wav"] = ffmpeg(MELODY, folder / "short.wav", "-t", "1")
    files["melody.mka"] = ffmpeg(MELODY, folder / "melody.mka", "-c:a", "libvorbis")
    whole = MELODY.read_bytes()
    (folder / "cut.flac").write_bytes(whole[: len(whole) * 2 // 5])
    files["cut.flac"] = folder / "cut.flac"
    m4a = files["melody.m4a"].read_bytes()
    (folder / "cut.m4a").write_bytes(m4a[: len(m4a) // 2])
    files["cut.m4a"] = folder / "cut.m4a"
    return files


async def upload(site: WebClient, name: str, content: bytes, csrf: bool = True) -> httpx.Response:
    data = {"csrf_token": await site.csrf("/identify")} if csrf else {}
    return await site.http.post(
        "/identify", data=data, files={"audio": (name, content, "application/octet-stream")}
    )


async def test_every_accepted_format_finds_the_track(
    browse_site: WebClient, web_stack: WebStack, audio: dict[str, Path]
) -> None:
    for name in ("melody.flac", *FORMATS):
        page = await upload(browse_site, name, audio[name].read_bytes())
        assert page.status_code == 200, (name, page.text[-2000:])
        assert f'<a href="/track/{web_stack.seeded.track}">' in page.text, name
        assert MELODY_MBID in page.text, name
        assert "Matching AcoustIDs" in page.text and "score " in page.text


async def test_unusable_files_get_a_message_and_no_lookup(
    browse_site: WebClient, audio: dict[str, Path]
) -> None:
    cases = [
        ("noise.mp3", b"\x13\x37 this is no audio " * 500, 422, "This file is not audio"),
        ("empty.ogg", b"", 422, "The file is empty."),
        ("short.wav", audio["short.wav"].read_bytes(), 422, "at least 3 s are needed"),
        ("melody.mka", audio["melody.mka"].read_bytes(), 422, "are not accepted"),
        ("cut.m4a", audio["cut.m4a"].read_bytes(), 422, "This file is not audio"),
        ("big.wav", b"\0" * 5_100_000, 413, "The file is larger than 5 MB"),
    ]
    for name, content, status, message in cases:
        page = await upload(browse_site, name, content)
        assert page.status_code == status, (name, page.text[-1500:])
        assert message in page.text, name
        assert "Matching AcoustIDs" not in page.text
        assert 'type="file"' in page.text, name  # the form is there to try again


async def test_truncated_file_is_identified_from_what_decodes(
    browse_site: WebClient, web_stack: WebStack, audio: dict[str, Path]
) -> None:
    page = await upload(browse_site, "cut.flac", audio["cut.flac"].read_bytes())
    assert page.status_code == 200
    assert "This file seems truncated: it declares 1:00" in page.text
    assert f'<a href="/track/{web_stack.seeded.track}">' in page.text


async def test_upload_without_csrf_token_or_file_is_refused(
    browse_site: WebClient, audio: dict[str, Path]
) -> None:
    refused = await upload(browse_site, "melody.flac", audio["melody.flac"].read_bytes(), False)
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    token = await browse_site.csrf("/identify")
    no_file = await browse_site.http.post(
        "/identify", data={"csrf_token": token}, files={"other": ("x.txt", b"x")}
    )
    assert no_file.status_code == 422 and "Choose an audio file to upload." in no_file.text
    not_multipart = await browse_site.http.post("/identify", data={"csrf_token": token})
    assert not_multipart.status_code == 422


async def test_long_work_streams_progress_then_results(
    browse_site: WebClient,
    web_stack: WebStack,
    audio: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(identify_page, "QUICK_ANSWER", 0.0)
    monkeypatch.setattr(identify_page, "PROGRESS_STEP", 0.01)
    page = await upload(browse_site, "melody.wav", audio["melody.wav"].read_bytes())
    assert page.status_code == 200
    text = page.text
    assert 'class="upload-progress"' in text and '<span class="bar" style="width:' in text
    assert text.index('class="bar"') < text.index("Matching AcoustIDs")
    assert f'<a href="/track/{web_stack.seeded.track}">' in text
    assert text.rstrip().endswith("</html>")


async def test_time_limit_and_a_missing_api_give_messages(
    web_stack: WebStack, audio: dict[str, Path]
) -> None:
    from tests.web.conftest import open_site

    content = audio["melody.wav"].read_bytes()
    slow = web_stack.settings.model_copy(update={"website_identify_timeout": 0.001})
    async with open_site(slow) as (_app, site):
        page = await upload(site, "melody.wav", content)
        assert page.status_code == 413 and "took longer than 0.001 seconds" in page.text
    offline = web_stack.settings.model_copy(update={"website_api_url": closed_port_url("http")})
    async with open_site(offline) as (_app, site):
        page = await upload(site, "melody.wav", content)
        assert page.status_code == 503 and "The lookup service did not answer" in page.text
