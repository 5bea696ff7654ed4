"""Who is calling: secret keys (``Authorization: Bearer sk_…``) for the management API, write keys
(HTTP basic user, or ``writeKey`` in the body) for ingest, and console sessions for the console."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable

from fastapi import Request

from siyu.db.engine import read
from siyu.errors import AuthError, Forbidden
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import ApiKey, KeyKind, Permission, Principal

WRITE_KEY_TTL_SECONDS = 30.0
SECRET_KEY_TTL_SECONDS = 5.0


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal(request: Request) -> Principal:
    """The caller of a management API route, from a secret key or a console session."""
    token = _bearer(request)
    runtime = runtime_of(request)
    if token:
        return secret_key_principal(runtime, token)
    session = request.scope.get("session") or {}
    if session.get("user_id") and session.get("workspace_id"):
        # A console session may call the API from the page. Changes need the session's CSRF token
        # in X-CSRF-Token, so another site cannot make a signed-in browser change data.
        token = str(session.get("csrf") or "")
        if request.method not in ("GET", "HEAD") and (
                not token or not secrets.compare_digest(token, request.headers.get("x-csrf-token", ""))):
            raise Forbidden("Changes from a console session need the X-CSRF-Token header.", code="auth.csrf")
        # The role is read from the membership now, not from the cookie: a member who was removed
        # or downgraded loses those rights at once, not when the 14-day cookie expires.
        user_id, workspace_id = int(session["user_id"]), int(session["workspace_id"])
        with read(runtime.engine) as conn:
            roles = {w.id: role for w, role in workspace_store.memberships(conn, user_id)}
        if workspace_id not in roles:
            raise AuthError("This console session no longer has access to the workspace; sign in again.",
                            code="auth.session_revoked")
        return Principal(workspace_id=workspace_id, role=roles[workspace_id], actor=f"user:{user_id}")
    raise AuthError("Authentication required: send 'Authorization: Bearer <secret key>'.", code="auth.missing")


def _live_key(runtime: Runtime, cache_name: str, ttl: float, plaintext: str) -> ApiKey | None:
    """The live key with this plaintext, or None; remembered for ``ttl`` seconds. The hot paths (ingest,
    a flash sale's claims) would otherwise pay a read transaction per request for the same answer; a
    revoked key stops working within ``ttl`` (at once in the process that revoked it: :func:`forget_keys`).
    Unknown keys are not remembered, so a scan of guesses cannot fill the cache."""
    cache: dict[str, tuple[float, ApiKey]] = runtime.extras.setdefault(cache_name, {})
    hit = cache.get(plaintext)
    if hit is not None and time.monotonic() - hit[0] < ttl:
        return hit[1]
    with read(runtime.engine) as conn:
        key = workspace_store.find_key(conn, plaintext)
    if key is None:
        cache.pop(plaintext, None)
        return None
    if len(cache) > 10_000:
        cache.clear()
    cache[plaintext] = (time.monotonic(), key)
    return key


def secret_key_principal(runtime: Runtime, token: str) -> Principal:
    """The caller a secret key stands for (cached for :data:`SECRET_KEY_TTL_SECONDS`)."""
    key = _live_key(runtime, "secret_keys", SECRET_KEY_TTL_SECONDS, token)
    if key is None or key.kind is not KeyKind.SECRET or key.role is None:
        raise AuthError("The secret key is unknown or revoked. Create one with `siyu keys create`.",
                        code="auth.invalid_key")
    return Principal(workspace_id=key.workspace_id, role=key.role, actor=f"key:{key.id}")


def forget_keys(runtime: Runtime) -> None:
    """Drop the cached keys: a key was revoked in this process."""
    runtime.extras.pop("write_keys", None)
    runtime.extras.pop("secret_keys", None)


def require(permission: Permission) -> Callable[[Request], Principal]:
    def dependency(request: Request) -> Principal:
        caller = principal(request)
        if not caller.can(permission):
            raise Forbidden(f"The role {caller.role.value!r} may not do this (needs {permission.value!r}).",
                            details={"permission": permission.value, "role": caller.role.value})
        return caller

    return dependency


def basic_auth_user(header: str) -> str | None:
    """The user part of an HTTP basic Authorization header's value: where Segment SDKs put the write key."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0] or None


def workspace_for_write_key(runtime: Runtime, write_key: str | None) -> int:
    if not write_key:
        raise AuthError("No write key: send it as the HTTP basic auth user (as Segment SDKs do) or as 'writeKey'.",
                        code="auth.missing_write_key")
    key = _live_key(runtime, "write_keys", WRITE_KEY_TTL_SECONDS, write_key)  # cached for the ingest hot path
    if key is None or key.kind is not KeyKind.WRITE:
        raise AuthError("The write key is unknown or revoked.", code="auth.invalid_write_key")
    return key.workspace_id
