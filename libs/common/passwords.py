"""Password hashes (argon2id), shared by the website's sign-in and the demo account.

argon2-cffi's default parameters follow RFC 9106's recommendation; verifying one costs
tens of milliseconds of CPU, so callers on an event loop run :func:`password_matches` in
a thread.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when there is no hash (unknown email), so a wrong email costs as long as
# a wrong password and response times do not tell which accounts exist.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        matched = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matched and password_hash is not None
