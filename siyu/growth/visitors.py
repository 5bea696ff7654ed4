"""Who is looking at a campaign page: WeChat web authorisation (网页授权) and the visitor cookie.

Inside WeChat (a ``MicroMessenger`` user agent) a visitor without a cookie is sent through the
official account's authorisation (:mod:`siyu.channels.wechat_oauth`; the account is the workspace's
WeChat channel, ``settings.channels.wechat``). The callback ``/c/{token}/oauth`` exchanges the code,
resolves the openid (``wechat_openid:<appid>``) and unionid (``wechat_unionid``) to a profile through
the normal ingest path — the identify lands in the event log and the identity graph like any other —
and remembers the profile in a signed, httpOnly cookie. Outside WeChat there is no code flow: the page
stays read-only and says "open in WeChat".

Signatures. Both the cookie and the OAuth ``state`` are signed with a key derived from the server's
secret *and the workspace id* (HMAC-SHA256), so a cookie or state of one brand means nothing to
another. The cookie is itsdangerous' serializer (like the survey links, :mod:`siyu.surveys.page`)
over ``{profile, appid, openid, exp}``; its expiry is checked against :mod:`siyu.clock` (tests travel).
The state cannot be an itsdangerous token: WeChat takes at most 128 bytes of ``a-zA-Z0-9``. It is
``hex(exp|ref|lang) + hex(HMAC(campaign token | payload))[:20]`` — all hex. It carries the return
URL's only variable parts (the share ``ref`` and the language); the path is always this campaign's
own page, built here, never read from the request, so the callback cannot redirect anywhere else.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from siyu.api.auth import runtime_of
from siyu.channels.wechat_oauth import OAuthApp, WebGrant
from siyu.db.engine import read
from siyu.growth import store
from siyu.growth.errors import CampaignError
from siyu.growth.models import Campaign
from siyu.identity.normalise import normalise
from siyu.identity.rules import IdentityRules
from siyu.identity.store import find_profile_id
from siyu.ingest.pipeline import ingest
from siyu.ingest.spec import Message
from siyu.profiles.read_store import resolve_profile_id
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

COOKIE_DAYS = 30  # a returning visitor is not sent through WeChat again for a month
STATE_MINUTES = 10  # the authorise hop takes seconds; a state older than this is refused
MAC_HEX = 20
COOKIE_SALT = "siyu.campaign-visitor"


@dataclass(frozen=True)
class Visitor:
    profile_id: int
    appid: str
    openid: str


def cookie_name(workspace_id: int) -> str:
    """One cookie per brand: two brands' campaign pages on one siyu server keep separate visitors."""
    return f"siyu_visitor_{workspace_id}"


def workspace_secret(rt: Runtime, workspace_id: int, purpose: str) -> str:
    return hmac.new(rt.session_secret().encode(), f"{purpose}:{workspace_id}".encode(), hashlib.sha256).hexdigest()


def oauth_app(settings: dict[str, Any] | None) -> OAuthApp | None:
    """The workspace's official account for web authorisation, or None when it has none set up."""
    config = ((settings or {}).get("channels") or {}).get("wechat")
    if not isinstance(config, dict) or not config.get("appid") or not config.get("secret"):
        return None
    try:
        return OAuthApp.from_settings(config)
    except ValueError:
        return None


def in_wechat(user_agent: str | None) -> bool:
    """WeChat's built-in browser says so in its user agent (``MicroMessenger/8.0…``)."""
    return "micromessenger" in (user_agent or "").lower()


def visitor_cookie(secret: str, visitor: Visitor, now: datetime) -> str:
    expires = int((now + timedelta(days=COOKIE_DAYS)).timestamp())
    return URLSafeSerializer(secret, salt=COOKIE_SALT).dumps(
        {"p": visitor.profile_id, "a": visitor.appid, "o": visitor.openid, "exp": expires})


def read_visitor(secret: str, value: str | None, now: datetime) -> Visitor | None:
    """The cookie's visitor, or None when it is missing, forged, of another workspace or expired."""
    if not value or len(value) > 1000:
        return None
    try:
        data = URLSafeSerializer(secret, salt=COOKIE_SALT).loads(value)
        visitor = Visitor(int(data["p"]), str(data["a"]), str(data["o"]))
        expires = int(data["exp"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    return visitor if now.timestamp() < expires else None


def make_state(secret: str, campaign_token: str, *, ref: str | None, lang: str, now: datetime) -> str:
    expires = int((now + timedelta(minutes=STATE_MINUTES)).timestamp())
    payload = f"{expires}|{ref or ''}|{lang}".encode().hex()
    return payload + _mac(secret, campaign_token, payload)


def read_state(secret: str, campaign_token: str, state: str, now: datetime) -> tuple[str | None, str] | None:
    """(ref, lang) of a state this server made for this campaign and not yet expired; else None."""
    if not 16 < len(state) <= 128 or not all(c in "0123456789abcdef" for c in state):
        return None
    payload, mac = state[:-MAC_HEX], state[-MAC_HEX:]
    if not hmac.compare_digest(mac, _mac(secret, campaign_token, payload)):
        return None
    try:
        expires, rest = bytes.fromhex(payload).decode().split("|", 1)
        ref, lang = rest.rsplit("|", 1)
    except ValueError:
        return None
    if now.timestamp() >= int(expires) or lang not in ("zh", "en"):
        return None
    return ref or None, lang


def return_path(campaign_token: str, *, ref: str | None, lang: str | None) -> str:
    """This campaign's own page (the only place the callback sends anyone)."""
    query = urlencode({k: v for k, v in (("ref", ref), ("lang", lang)) if v})
    return f"/c/{campaign_token}" + (f"?{query}" if query else "")


def _mac(secret: str, campaign_token: str, payload: str) -> str:
    return hmac.new(secret.encode(), f"{campaign_token}|{payload}".encode(), hashlib.sha256).hexdigest()[:MAC_HEX]


def identify_visitor(conn: Connection, rt: Runtime, workspace: Any, app: OAuthApp, grant: WebGrant, *,
                     info: dict[str, Any] | None, ip: str | None, user_agent: str | None, now: datetime) -> int:
    """The visitor's (live) profile: an ``identify`` with ``context.externalIds`` ``wechat_openid:<appid>``
    and the ``wechat_unionid`` trait, through the ingest pipeline in this transaction — the same
    resolution (and merges) as a follow pushed by WeChat."""
    traits: dict[str, Any] = {}
    unionid = grant.unionid or (info or {}).get("unionid")
    if unionid:
        traits["wechat_unionid"] = unionid
    if info and info.get("nickname"):
        traits["wechat_nickname"] = str(info["nickname"])[:100]
    key = hashlib.sha256(f"{app.appid}:{grant.openid}:{grant.access_token}".encode()).hexdigest()[:32]
    message = Message(type="identify", message_id=f"campaign-visitor:{key}", name="", timestamp=now, received_at=now,
                      traits=traits, source="campaign_page",
                      context={"externalIds": [{"type": f"wechat_openid:{app.appid}", "id": grant.openid}],
                               **({"ip": ip} if ip else {}), **({"userAgent": user_agent[:500]} if user_agent else {})})
    result = ingest(conn, workspace.id, [message], rules=IdentityRules.from_settings(workspace.settings),
                    region=workspace.default_region, dedupe_window=timedelta(hours=rt.config.dedupe_window_hours))
    profile_id = result.profile_ids.get(message.message_id)
    if profile_id is None:  # the same grant twice (a replayed callback): the openid is linked already
        profile_id = find_profile_id(conn, workspace.id, normalise(f"wechat_openid:{app.appid}", grant.openid))
    if profile_id is None:
        raise CampaignError("WeChat's visitor could not be resolved to a profile; open the page again.",
                            code="campaigns.visitor_unresolved", status=409)
    return resolve_profile_id(conn, workspace.id, profile_id)


@dataclass(frozen=True)
class PageContext:
    """A campaign page's request: the campaign, its brand, the visitor (if known) and their browser."""

    workspace: Any
    campaign: Campaign
    secret: str
    visitor: Visitor | None
    in_wechat: bool
    app: OAuthApp | None
    base_url: str


def page_context(request: Request, token: str, now: datetime) -> PageContext | None:
    rt = runtime_of(request)
    with read(rt.engine) as conn:
        found = store.campaign_by_token(conn, token[:32])
        if found is None:
            return None
        workspace = workspace_store.get_workspace(conn, found[0])
    secret = workspace_secret(rt, workspace.id, "campaign-visitor")
    return PageContext(workspace, found[1], secret,
                       read_visitor(secret, request.cookies.get(cookie_name(workspace.id)), now),
                       in_wechat(request.headers.get("user-agent")), oauth_app(workspace.settings),
                       str(request.base_url).rstrip("/"))
