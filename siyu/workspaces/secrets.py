"""Key material and password hashing.

Keys are shown once and stored only as SHA-256 digests: they are long random strings, so a fast
hash is enough and lets the ingest path look a key up by digest in one indexed read. Console
passwords are short and human, so they get Argon2id (argon2-cffi's defaults, RFC 9106).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from siyu.workspaces.models import KeyKind

_PREFIX = {KeyKind.WRITE: "wk_", KeyKind.SECRET: "sk_"}
_hasher = PasswordHasher()


def new_key(kind: KeyKind) -> str:
    return _PREFIX[kind] + secrets.token_urlsafe(24)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
