"""The real clients, unmodified, against the real stack: pyacoustid from PyPI, beets' ``chroma``
plugin through the ``beet`` command, and Picard's requests as Picard 2.x and 3.x build them.

Each fingerprints with ``acoustid fpcalc``, submits with its own key (Picard's and beets'
built-in ones), waits for the worker to import, looks up and finds the recording; the API's
access log shows each call with the application it counted against.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import acoustid
import beets
import httpx
import pytest
from beetsplug import chroma

from tests.clients.conftest import Stack, acoustid_cli
from tests.conftest import REPO, SHARED

CLIPS = SHARED / "testdata" / "chromaprint"
PICARD_KEY, BEETS_KEY = "v8pQ6oyB", "1vOwZtEn"
IMPORT_TIMEOUT = 90.0


def readme_block(marker: str) -> str:
    """The code block that follows ``<!-- marker -->`` in the README, so what users copy runs."""
    readme = (REPO / "README.md").read_text()
    found = re.search(rf"<!-- {re.escape(marker)} -->\n```\w*\n(.*?)```", readme, flags=re.S)
    assert found, f"README has no block marked {marker}"
    return found.group(1)


def access_lines(stack: Stack, path: str) -> list[dict[str, Any]]:
    lines = []
    for line in stack.api_log_lines():
        if line.startswith("{") and '"logger": "access"' in line:
            entry = json.loads(line)
            if entry["path"] == path:
                lines.append(entry)
    return lines


def wait_for_recording(stack: Stack, key: str, fpcalc_json: dict[str, Any], mbid: str) -> str:
    """Looks up until the worker's import makes the MBID findable; the AcoustID it is on."""
    deadline = time.monotonic() + IMPORT_TIMEOUT
    params = {
        "client": key,
        "duration": int(fpcalc_json["duration"]),
        "fingerprint": fpcalc_json["fingerprint"],
        "meta": "recordingids",
    }
    while True:
        body = httpx.post(f"{stack.api}/v2/lookup", data=params, timeout=10).json()
        for result in body.get("results", []):
            if {"id": mbid} in result.get("recordings", []):
                return str(result["id"])
        assert time.monotonic() < deadline, f"{mbid} never became findable: {body}"
        time.sleep(0.5)


def fpcalc_json(program: Path, path: Path) -> dict[str, Any]:
    """What Picard runs: ``fpcalc -json -length 120 FILE``; Picard 2.x needs exit 0."""
    out = subprocess.run(
        [str(program), "-json", "-length", "120", str(path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_pyacoustid_fingerprints_with_acoustid_fpcalc_submits_and_finds_it(
    stack: Stack, fpcalc_program: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = acoustid_cli(stack.settings, "application", "add", "--name", "a pyacoustid script")
    key = added.stdout.split()[-1]
    clip, mbid = CLIPS / "speech_22k_mono.flac", str(uuid.uuid4())
    monkeypatch.setenv("FPCALC", str(fpcalc_program))
    monkeypatch.setattr(acoustid, "API_BASE_URL", acoustid.API_BASE_URL)
    acoustid.set_base_url(f"{stack.api}/v2")
    # libchromaprint is installed here, so pyacoustid would ignore FPCALC unless forced.
    duration, fingerprint = acoustid.fingerprint_file(str(clip), force_fpcalc=True)
    ours = fpcalc_json(fpcalc_program, clip)
    assert (int(duration), fingerprint.decode()) == (int(ours["duration"]), ours["fingerprint"])
    answer = acoustid.submit(
        key, stack.user_key, {"fingerprint": fingerprint, "duration": duration, "mbid": mbid}
    )
    assert answer["status"] == "ok" and answer["submissions"][0]["status"] == "pending"
    wait_for_recording(stack, key, ours, mbid)
    matches = list(acoustid.match(key, str(clip), force_fpcalc=True))
    assert mbid in [recording_id for _, recording_id, _, _ in matches]


def test_beets_chroma_plugin_with_its_built_in_key(
    stack: Stack, fpcalc_program: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`beet import` fingerprints and looks up, `beet submit` submits, both with beets' key
    1vOwZtEn, through the README's local plugin; once imported, the chroma plugin's own lookup
    finds the AcoustID and the recording for a copy of the file."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "selfhosted_acoustid.py").write_text(readme_block("beets plugin"))
    first, second = tmp_path / "in" / "first", tmp_path / "in" / "second"
    for folder in (first, second):
        folder.mkdir(parents=True)
        (folder / "melody.flac").write_bytes((CLIPS / "melody_48k_stereo.flac").read_bytes())
    beets_dir = tmp_path / "beets"
    beets_dir.mkdir()
    config = readme_block("beets config").replace("~/.config/beets/plugins", str(plugins))
    config = config.replace("http://127.0.0.1:5000", stack.api).replace("USER_KEY", stack.user_key)
    config += f"directory: {tmp_path / 'music'}\nlibrary: {tmp_path / 'library.db'}\n"
    config += "import:\n  copy: no\n  write: no\n  quiet_fallback: asis\n"
    (beets_dir / "config.yaml").write_text(config)
    env = {**os.environ, "BEETSDIR": str(beets_dir), "FPCALC": str(fpcalc_program)}
    beet = Path(sys.executable).parent / "beet"

    def run(*args: str) -> str:
        out = subprocess.run([str(beet), *args], env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout + out.stderr

    mbid = str(uuid.uuid4())
    run("import", "-q", str(first))
    run("modify", "-y", f"path:{first / 'melody.flac'}", f"mb_trackid={mbid}")
    submitted = run("-v", "submit", f"path:{first / 'melody.flac'}")
    assert "submitting 1 fingerprints" in submitted
    assert "acoustid submission error" not in submitted
    ours = fpcalc_json(fpcalc_program, first / "melody.flac")
    track = wait_for_recording(stack, BEETS_KEY, ours, mbid)

    # The lookup beets runs while importing, here in-process to read what the plugin found
    # (an as-is import does not store it; with the musicbrainz plugin it picks candidates).
    monkeypatch.setenv("BEETSDIR", str(beets_dir))
    monkeypatch.setenv("FPCALC", str(fpcalc_program))
    monkeypatch.setattr(acoustid, "API_BASE_URL", acoustid.API_BASE_URL)
    monkeypatch.setattr(acoustid, "fingerprint_file", acoustid.fingerprint_file)
    beets.config.clear()
    beets.config.read()
    spec = importlib.util.spec_from_file_location(
        "selfhosted_acoustid", plugins / "selfhosted_acoustid.py"
    )
    assert spec is not None and spec.loader is not None
    local = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local)
    local.SelfHostedAcoustID()
    path = str(second / "melody.flac").encode()
    chroma.acoustid_match(logging.getLogger("beets.chroma"), path)
    assert chroma._acoustids[path] == track
    recording_ids, _ = chroma._matches[path]
    assert mbid in recording_ids
    assert chroma._fingerprints[path] == ours["fingerprint"]  # fingerprinted by acoustid fpcalc

    beets_app = stack.applications["beets"]
    submits = [e for e in access_lines(stack, "/v2/submit") if e["app_id"] == beets_app]
    lookups = [e for e in access_lines(stack, "/v2/lookup") if e["app_id"] == beets_app]
    assert submits and submits[-1]["status"] == 200
    assert len(lookups) >= 2 and lookups[-1]["user_agent"].startswith("python-requests/")


def picard_body(args: dict[str, str]) -> str:
    """Picard's hand-built form body: its arguments, then client, clientversion and format,
    each percent-encoded as QUrl.toPercentEncoding does (space as %20, not +)."""
    args = {**args, "client": PICARD_KEY, "clientversion": "2.8.5", "format": "json"}
    return "&".join(f"{name}={quote(value, safe='-._~')}" for name, value in args.items())


def picard_2_url(host: str, port: int, path: str) -> str:
    """Picard 2.x: picard.util.build_qurl(ACOUSTID_HOST, ACOUSTID_PORT, '/v2/' + path)."""
    scheme = "https" if port == 443 else "http"
    netloc = host if port in (80, 443) else f"{host}:{port}"
    return f"{scheme}://{netloc}/v2/{path}"


def test_picard_2_and_3_requests(stack: Stack, fpcalc_program: Path) -> None:
    host, port = "127.0.0.1", stack.settings.api_port
    urls = {
        "2.x": lambda path: picard_2_url(host, port, path),  # ACOUSTID_HOST / ACOUSTID_PORT
        "3.x": lambda path: f"{stack.api}/v2/{path}",  # ACOUSTID_URL + "/" + path
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": "MusicBrainz-Picard/2.8.5 (Linux;CPython-3.11.2)",
    }
    clip = CLIPS / "melody_noise_22k_mono_125s.flac"
    fp = fpcalc_json(fpcalc_program, clip)
    mbid = str(uuid.uuid4())
    submit = picard_body(
        {
            "user": stack.user_key,
            "fingerprint.0": fp["fingerprint"],
            "duration.0": str(int(fp["duration"])),
            "mbid.0": mbid,
        }
    )
    answer = httpx.post(urls["2.x"]("submit"), content=submit, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["submissions"][0]["status"] == "pending"
    track = wait_for_recording(stack, PICARD_KEY, fp, mbid)
    lookup = picard_body(
        {
            "meta": "recordings releasegroups releases tracks compress sources",
            "fingerprint": fp["fingerprint"],
            "duration": str(int(fp["duration"])),
        }
    )
    for version, url in urls.items():
        response = httpx.post(url("lookup"), content=lookup, headers=headers, timeout=10)
        assert response.status_code == 200, (version, response.text)
        body = response.json()
        assert body["status"] == "ok"
        result = next(r for r in body["results"] if r["id"] == track)
        recording = next(r for r in result["recordings"] if r["id"] == mbid)
        assert recording["sources"] >= 1
        line = access_lines(stack, "/v2/lookup")[-1]
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["app_id"] == stack.applications["Picard"]
        assert line["user_agent"] == headers["User-Agent"]
        assert (line["method"], line["status"]) == ("POST", 200)
        assert line["duration_ms"] > 0
