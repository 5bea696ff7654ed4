"""Posters at work: one person's poster (from the render cache, or drawn once), their share link
(``/s/<token>``: counted, then on to the template's target with ``ref``), the signed public address
of their poster, and the worker's avatar fetches.

A request never waits on a remote fetch: a person whose ``avatar`` trait has not been fetched yet
gets the default avatar now and asks the worker for theirs; once it is in, the cache key changes
and the next request draws the poster with it.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from itsdangerous import BadSignature, URLSafeSerializer

from siyu import clock
from siyu.acquisition import posters_store as store
from siyu.acquisition.posters import MAX_AVATAR_BYTES, PosterError, cache_key, parse_layout, render, usable_avatar
from siyu.channels import http
from siyu.db.engine import write
from siyu.messaging.links import with_utm
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import append_profile_events, resolve_profile_id
from siyu.profiles.store import load_states
from siyu.runtime import Runtime

log = logging.getLogger("siyu.posters")
SALT = "siyu-poster"
FOLLOWED = "Poster Link Opened"
NICKNAME_TRAITS = ("nickname", "name", "first_name")


def share_token(secret: str, workspace_id: int, template_id: int, profile_id: int) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps([workspace_id, template_id, profile_id])


def read_share_token(secret: str, token: str) -> tuple[int, int, int] | None:
    try:
        found = URLSafeSerializer(secret, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(found, list) and len(found) == 3 and all(isinstance(v, int) for v in found)):
        return None
    return found[0], found[1], found[2]


def nickname_of(traits: dict[str, Any]) -> str:
    for key in NICKNAME_TRAITS:
        value = traits.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:40]
    return ""


def poster_png(rt: Runtime, workspace_id: int, template_id: int, profile_id: int,
               avatar: bytes | None = None) -> bytes:
    """The person's poster; ``avatar`` (image bytes) overrides the fetched one."""
    now = clock.now()
    with write(rt.engine) as conn:
        template = store.get_template(conn, workspace_id, template_id, with_background=True)
        if template is None:
            raise PosterError(f"No poster template {template_id} in this workspace.", code="posters.not_found",
                              status=404, details={"template_id": template_id})
        live = resolve_profile_id(conn, workspace_id, profile_id)
        traits = load_states(conn, workspace_id, [live])[live].traits
        token = store.ensure_link(conn, workspace_id, template_id, live, secrets.token_urlsafe(9), now)
        if avatar is None:
            avatar = _stored_avatar(conn, workspace_id, live, traits, now)
        avatar = usable_avatar(avatar)
        nickname = nickname_of(traits)
        key = cache_key(template_id, template["version"], live, token, avatar, nickname)
        cached = store.cached_render(conn, workspace_id, key)
    if cached is not None:
        return cached
    layout = parse_layout(template["layout"], template["width"], template["height"])
    png = render(bytes(template["background"]), layout, nickname=nickname, avatar=avatar,
                 qr_url=f"{rt.config.public_url}/s/{token}")
    with write(rt.engine) as conn:
        store.keep_render(conn, workspace_id, key, template_id, live, png, clock.now())
    return png


def _stored_avatar(conn: Any, workspace_id: int, profile_id: int, traits: dict[str, Any], now: Any) -> bytes | None:
    url = traits.get("avatar")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 1000:
        return None
    found = store.avatar_of(conn, workspace_id, profile_id)
    if found is None or found["url"] != url:
        store.want_avatar(conn, workspace_id, profile_id, url, now)
        return None
    return bytes(found["image"]) if found["status"] == "fetched" and found["image"] else None


def follow(rt: Runtime, token: str) -> str | None:
    """Where a share link leads (the template's target with ``ref=<token>`` and UTM tags), counting
    the visit for the person who shared; None for an unknown token."""
    now = clock.now()
    with write(rt.engine) as conn:
        link = store.link_by_token(conn, token)
        if link is None:
            return None
        store.count_hit(conn, link["workspace_id"], token, now)
        try:
            sharer = resolve_profile_id(conn, link["workspace_id"], link["profile_id"])
            append_profile_events(conn, link["workspace_id"], [(sharer, FOLLOWED, {
                "template_id": link["template_id"], "ref": token})], "posters", now)
        except ProfileNotFound:
            pass  # the sharer was erased: the link still leads on, nothing is recorded about them
    parts = urlsplit(link["target_url"])
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), ("ref", token)])
    return with_utm(urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment)), "poster",
                    f"poster-{link['template_id']}")


def fetch_avatars(rt: Runtime, limit: int = 20) -> int:
    """Fetch avatars people's posters asked for (≤ 1 MB, an image Pillow reads); how many came in."""
    with write(rt.engine) as conn:
        pending = store.pending_avatars(conn, limit)
    fetched = 0
    for item in pending:
        image = None
        try:
            with http.client().stream("GET", item["url"], timeout=5, follow_redirects=True) as answer:
                if answer.status_code == 200:
                    body = b""
                    for chunk in answer.iter_bytes():
                        body += chunk
                        if len(body) > MAX_AVATAR_BYTES:
                            break
                    image = usable_avatar(body)
        except httpx.HTTPError as error:
            log.info("avatar of profile %s: %s", item["profile_id"], error)
        with write(rt.engine) as conn:
            store.store_avatar(conn, item["workspace_id"], item["profile_id"], item["url"], image, clock.now())
        fetched += image is not None
    return fetched
