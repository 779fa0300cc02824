"""``acoustid account`` as an operator types it, and the website honouring what it set."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy import select

from libs.common.db import Database
from libs.common.models.app import Account
from libs.common.settings import Settings
from tests.conftest import REPO, settings_env
from tests.web import db
from tests.web.conftest import open_site
from tests.web.site import unique_email


def account(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", "account", *args],
        cwd=REPO,
        env={**os.environ, **settings_env(settings)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def roles(settings: Settings, email: str) -> tuple[bool, bool]:
    [(admin, moderator)] = await db.fetch(
        settings,
        Database.APP,
        select(Account.is_admin, Account.is_moderator).where(Account.email == email),
    )
    return admin, moderator


async def test_create_an_account_that_signs_in(web_settings: Settings) -> None:
    email = unique_email("op")
    made = account(
        web_settings,
        "create",
        "--email",
        email,
        "--name",
        "Operator",
        "--password-stdin",
        stdin="s3cret-passphrase\n",
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created account ") and email in made.stdout
    assert await roles(web_settings, email) == (False, False)
    async with open_site(web_settings) as (_app, site):
        assert (await site.sign_in(email, "s3cret-passphrase")).status_code == 303
        assert "Signed in as Operator." in (await site.get("/api-key")).text
    again = account(web_settings, "create", "--email", email, "--password-stdin", stdin="x" * 9)
    assert again.returncode == 1
    assert "An account with this email address already exists" in again.stderr
    short = account(
        web_settings, "create", "--email", unique_email(), "--password-stdin", stdin="x"
    )
    assert short.returncode == 1 and "at least 8 characters" in short.stderr


async def test_set_admin_and_moderator(web_settings: Settings) -> None:
    email = unique_email("mod")
    made = account(
        web_settings,
        "create",
        "--email",
        email,
        "--moderator",
        "--password-stdin",
        stdin="another-passphrase\n",
    )
    assert made.returncode == 0, made.stderr
    assert await roles(web_settings, email) == (False, True)
    granted = account(web_settings, "set-admin", email.upper())
    assert granted.returncode == 0 and granted.stdout.strip() == f"{email.upper()}: admin granted"
    assert await roles(web_settings, email) == (True, True)
    async with open_site(web_settings) as (_app, site):
        await site.sign_in(email, "another-passphrase")
        assert (await site.get("/admin")).status_code == 200
    revoked = account(web_settings, "set-moderator", email, "--revoke")
    assert revoked.returncode == 0 and "moderator revoked" in revoked.stdout
    assert await roles(web_settings, email) == (True, False)
    account(web_settings, "set-admin", email, "--revoke")
    async with open_site(web_settings) as (_app, site):
        await site.sign_in(email, "another-passphrase")
        assert (await site.get("/admin")).status_code == 404


def test_unknown_email_and_missing_password(web_settings: Settings) -> None:
    unknown = account(web_settings, "set-admin", "nobody@example.org")
    assert unknown.returncode == 1
    assert "no account has the email address nobody@example.org" in unknown.stderr
    no_tty = account(web_settings, "create", "--email", unique_email())
    assert no_tty.returncode == 1 and "--password-stdin" in no_tty.stderr
    helped = account(web_settings, "--help")
    assert helped.returncode == 0
    for action in ("create", "set-admin", "set-moderator"):
        assert action in helped.stdout
