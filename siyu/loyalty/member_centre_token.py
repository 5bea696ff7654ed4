"""Member-centre links (会员中心): ``{SIYU_PUBLIC_URL}/m/{token}``, one per person, signed, expiring.

Signed like the survey and unsubscribe links (:mod:`siyu.surveys.page`, :mod:`siyu.messaging.unsubscribe`):
itsdangerous' HMAC serializer over ``[workspace, profile, expires]`` with the server's secret and a salt
of its own, so a link can't be forged, moved to another person or workspace, or lengthened, and needs
no table. Unlike those links it expires: the page shows points and coupon codes and spends points, so
a forwarded message must stop working after a while (the programme's ``centre_link_days``, 30 by
default). The expiry is inside the signed payload and taken from :mod:`siyu.clock` (itsdangerous'
own timestamps read the wall clock, which tests can't move). Every message renders a fresh link, so
a member who reads their messages always has one that works.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from siyu.loyalty import store
from siyu.loyalty.errors import ProgrammeMissing
from siyu.profiles.read_store import resolve_profile_id

SALT = "siyu-member-centre"
DEFAULT_DAYS = 30  # Programme.centre_link_days' default, for a workspace without a programme yet
PATH = "/m/"


class TokenState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # genuine, but past its date: 410 and a page that says to ask for a new link
    INVALID = "invalid"  # not ours (tampered, truncated, another salt): 404


@dataclass(frozen=True)
class CentreToken:
    workspace_id: int
    profile_id: int  # as issued; a merge since then is resolved when the page opens
    expires_at: datetime


def token_for(secret: str, workspace_id: int, profile_id: int, expires_at: datetime) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps([workspace_id, profile_id, int(expires_at.timestamp())])


def read_token(secret: str, token: str) -> CentreToken | None:
    """The token's contents when the signature holds, else None (expiry is :func:`state_of`'s question)."""
    try:
        found = URLSafeSerializer(secret, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(found, list) and len(found) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in found)):
        return None
    workspace_id, profile_id, expires = found
    return CentreToken(workspace_id, profile_id, datetime.fromtimestamp(expires, UTC))


def state_of(token: CentreToken | None, now: datetime) -> TokenState:
    if token is None:
        return TokenState.INVALID
    return TokenState.VALID if now < token.expires_at else TokenState.EXPIRED


def link_for(public_url: str, secret: str, workspace_id: int, profile_id: int, now: datetime,
             days: int = DEFAULT_DAYS) -> tuple[str, datetime]:
    """(the URL, when it stops working): ``days`` from ``now``, to the second."""
    expires_at = (now + timedelta(days=days)).replace(microsecond=0)
    return f"{public_url.rstrip('/')}{PATH}{token_for(secret, workspace_id, profile_id, expires_at)}", expires_at


def link_days(conn: Connection, workspace_id: int) -> int:
    """The programme's ``centre_link_days``; the default when the workspace has no programme yet."""
    try:
        programme, _, _ = store.get_programme(conn, workspace_id)
    except ProgrammeMissing:
        return DEFAULT_DAYS
    return programme.centre_link_days


def issue_link(conn: Connection, public_url: str, secret: str, workspace_id: int, profile_id: int,
               now: datetime) -> dict[str, object]:
    """The link for a person (a merged-away id gives the survivor's; a stranger: ``profiles.not_found``)."""
    live = resolve_profile_id(conn, workspace_id, profile_id)
    url, expires_at = link_for(public_url, secret, workspace_id, live, now, link_days(conn, workspace_id))
    return {"profile_id": live, "url": url, "expires_at": expires_at}
