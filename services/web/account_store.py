"""Accounts with an email and password: creation, lookup, password checks, roles.

Used by the sign-up page and by ``acoustid account`` alike, so an operator's account and a
visitor's are made the same way.
"""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.apikeys import generate_api_key
from libs.common.models.app import Account
from libs.common.passwords import hash_password

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
ROLES = ("admin", "moderator")


class AccountError(ValueError):
    """A reason an account cannot be made, worded for the person who asked."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_new_account(name: str, email: str, password: str) -> list[str]:
    """What is wrong with a sign-up, one message per problem (empty when it is fine)."""
    problems = []
    if not name.strip():
        problems.append("Missing name")
    if not email.strip():
        problems.append("Missing email address")
    elif not EMAIL_RE.match(email.strip()):
        problems.append("Invalid email address")
    if len(password) < MIN_PASSWORD:
        problems.append(f"The password must have at least {MIN_PASSWORD} characters")
    elif len(password) > MAX_PASSWORD:
        problems.append(f"The password must have at most {MAX_PASSWORD} characters")
    return problems


async def find_by_email(session: AsyncSession, email: str) -> Account | None:
    account: Account | None = await session.scalar(
        select(Account).where(Account.email == normalize_email(email))
    )
    return account


async def create_account(
    session: AsyncSession, name: str, email: str, password: str, created_from: str | None = None
) -> Account:
    """A new account with its own user API key; raises AccountError, commits on success."""
    problems = check_new_account(name, email, password)
    if problems:
        raise AccountError("; ".join(problems))
    if await find_by_email(session, email) is not None:
        raise AccountError("An account with this email address already exists")
    account = Account(
        name=name.strip(),
        email=normalize_email(email),
        password_hash=hash_password(password),
        apikey=generate_api_key(),
        anonymous=False,
        created_from=created_from,
    )
    session.add(account)
    await session.commit()
    return account


async def set_role(session: AsyncSession, email: str, role: str, value: bool) -> bool:
    """Grants or revokes admin/moderator; False when no account has that email."""
    column = {"admin": Account.is_admin, "moderator": Account.is_moderator}[role]
    result = await session.execute(
        update(Account)
        .where(Account.email == normalize_email(email))
        .values({column.key: value})
        .returning(Account.id)
    )
    found = result.first() is not None
    await session.commit()
    return found
