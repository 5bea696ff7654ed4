"""The member centre (会员中心): ``/m/{token}``, a member's own mobile page in Chinese or English
(``?lang=``, else the browser's preference) — tier and progress, benefits, points and their history,
coupons, the points catalogue, growth tasks and the invite campaign with the member's share link and
poster.

No login: the signed, expiring token (:mod:`siyu.loyalty.member_centre_token`) is the authority, as
for the survey page. A token that isn't ours is a 404 page, one past its date a 410 page, both in the
visitor's language; a merged-away person's link opens the survivor's centre.

Spending points is a POST carrying the token and a key the page made when it was drawn: the key is the
redemption's idempotency key (namespaced by person), so a double tap or a reload of the answer redeems
once and shows the same coupon. The redemption is :func:`siyu.loyalty.points.redeem` in one write
transaction: a refusal (not enough points, sold out, limit) rolls everything back — the balance never
goes below zero, nothing is half-spent — and the page says why.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from siyu import clock
from siyu.acquisition.forms import language
from siyu.api.auth import runtime_of
from siyu.db.engine import read, write
from siyu.errors import SiyuError
from siyu.loyalty import member_centre_view as views
from siyu.loyalty import points, store
from siyu.loyalty.errors import InsufficientPoints
from siyu.loyalty.member_centre_text import TEXT, money
from siyu.loyalty.member_centre_token import CentreToken, TokenState, read_token, state_of
from siyu.offers import store as offers_store
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import resolve_profile_id
from siyu.runtime import Runtime
from siyu.workspaces import store as workspace_store

router = APIRouter(tags=["loyalty"])
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # the URL is the credential
FORM_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
_env = Environment(autoescape=True)
PAGE = _env.from_string((Path(__file__).parent / "templates" / "member_centre.html").read_text(encoding="utf-8"))


def redemption_key(profile_id: int, form_key: str) -> str:
    """The points ledger's key for a redemption from the page: the page's key, scoped to the person so
    keys from different people's pages never meet."""
    return f"centre:{profile_id}:{form_key}"


def _lang(request: Request) -> str:
    return language(request.query_params.get("lang"), request.headers.get("accept-language"))


def _problem(lang: str, state: TokenState, token: str) -> HTMLResponse:
    t = TEXT[lang]
    title, body, status = ((t["expired"], t["expired_body"], 410) if state is TokenState.EXPIRED
                           else (t["invalid"], t["invalid_body"], 404))
    return HTMLResponse(PAGE.render(lang=lang, t=t, title=title, problem=body, base=f"/m/{token}"),
                        status_code=status, headers=NO_STORE)


def _opened(rt: Runtime, token: str, lang: str) -> tuple[CentreToken, int] | HTMLResponse:
    """(the token, the live profile it leads to) or the page explaining why not."""
    found = read_token(rt.session_secret(), token)
    state = state_of(found, clock.now())
    if found is None or state is not TokenState.VALID:
        return _problem(lang, state, token)
    try:
        with read(rt.engine) as conn:
            return found, resolve_profile_id(conn, found.workspace_id, found.profile_id)
    except ProfileNotFound:  # erased since the link was made (or another database's workspace)
        return _problem(lang, TokenState.INVALID, token)


def _formats(timezone: str, lang: str) -> dict[str, Any]:
    zone = ZoneInfo(timezone)

    def day(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d") if at else ""

    def minute(at: datetime | None) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if at else ""

    return {"day": day, "minute": minute, "money": lambda fen: money(fen, lang)}


def _render(rt: Runtime, token: CentreToken, profile_id: int, raw: str, lang: str,
            notice: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    with read(rt.engine) as conn:
        timezone = workspace_store.get_workspace(conn, token.workspace_id).timezone
        view = views.centre_view(conn, token.workspace_id, profile_id, public_url=rt.config.public_url,
                                 now=clock.now())
    t = TEXT[lang]
    html = PAGE.render(lang=lang, t=t, title=t["title"], view=view, notice=notice, base=f"/m/{raw}",
                       form_key=lambda: secrets.token_urlsafe(12),
                       text_of=lambda text: text.get(lang) or text.get("zh") if isinstance(text, dict) else text,
                       **_formats(timezone, lang))
    return HTMLResponse(html, status_code=status, headers=NO_STORE)


@router.get("/m/{token}", response_class=HTMLResponse, summary="A member's centre (public, signed link)")
def centre_page(request: Request, token: str) -> HTMLResponse:
    rt, lang = runtime_of(request), _lang(request)
    opened = _opened(rt, token, lang)
    if isinstance(opened, HTMLResponse):
        return opened
    return _render(rt, *opened, token, lang)


@router.post("/m/{token}/redeem", response_class=HTMLResponse, summary="Spend points on a catalogue item")
def redeem_from_centre(request: Request, token: str, offer_id: Annotated[str, Form()] = "",
                       key: Annotated[str, Form()] = "") -> HTMLResponse:
    rt, lang = runtime_of(request), _lang(request)
    opened = _opened(rt, token, lang)
    if isinstance(opened, HTMLResponse):
        return opened
    found, profile_id = opened
    t = TEXT[lang]
    if not (offer_id.isdigit() and len(offer_id) < 19 and FORM_KEY.fullmatch(key)):
        notice = {"kind": "refused", "text": t["refused"].format(reason=t["refused_reasons"]["loyalty.key_reused"])}
        return _render(rt, found, profile_id, token, lang, notice, 422)
    try:
        with write(rt.engine) as conn:
            programme, _, _ = store.get_programme(conn, found.workspace_id)
            _, claim = points.redeem(conn, found.workspace_id, programme, profile_id, int(offer_id),
                                     key=redemption_key(profile_id, key), now=clock.now())
            name = offers_store.get_offer(conn, found.workspace_id, claim.offer_id).name
    except InsufficientPoints as refusal:
        notice = {"kind": "refused", "text": t["refused_points"].format(
            points=refusal.details.get("points"), balance=refusal.details.get("balance"))}
        return _render(rt, found, profile_id, token, lang, notice, 409)
    except SiyuError as refusal:  # offers.* (stock, limit, budget, expired), loyalty.* (not in the catalogue)
        reason = t["refused_reasons"].get(refusal.code, refusal.message)
        notice = {"kind": "refused", "text": t["refused"].format(reason=reason)}
        return _render(rt, found, profile_id, token, lang, notice, 409 if refusal.status == 409 else 422)
    notice = {"kind": "ok", "text": t["redeemed"].format(name=name, code=claim.code or "")}
    return _render(rt, found, profile_id, token, lang, notice)


@router.post("/m/{token}/invite", response_class=HTMLResponse, summary="Join the member centre's invite campaign")
def join_invite(request: Request, token: str) -> Response:
    """Joining twice is one participation (the campaign's rule); the answer is the page again (303)."""
    from siyu.growth import service as growth

    rt, lang = runtime_of(request), _lang(request)
    opened = _opened(rt, token, lang)
    if isinstance(opened, HTMLResponse):
        return opened
    found, profile_id = opened
    joined = False
    try:
        with write(rt.engine) as conn:
            programme = views.programme_or_none(conn, found.workspace_id)
            campaign = views.invite_campaign(conn, found.workspace_id, programme, clock.now())
            if campaign is not None:
                joined = growth.join(conn, found.workspace_id, campaign.id, profile_id, clock.now()) is not None
    except SiyuError:  # the campaign refuses the person (campaigns.not_live between our read and the join)
        joined = False
    if not joined:  # no invite campaign any more: it ended since the page was drawn
        notice = {"kind": "refused", "text": TEXT[lang]["invite_closed"]}
        return _render(rt, found, profile_id, token, lang, notice, 409)
    return RedirectResponse(f"/m/{token}?lang={lang}#invite", status_code=303, headers=NO_STORE)


@router.get("/m/{token}/poster.png", response_class=Response, summary="The member's invite poster")
def poster(request: Request, token: str) -> Response:
    from siyu.acquisition.posters_live import poster_png
    from siyu.growth import store as growth_store

    rt, lang = runtime_of(request), _lang(request)
    opened = _opened(rt, token, lang)
    if isinstance(opened, HTMLResponse):
        return Response(status_code=opened.status_code, headers=NO_STORE)
    found, profile_id = opened
    with read(rt.engine) as conn:
        programme = views.programme_or_none(conn, found.workspace_id)
        campaign = views.invite_campaign(conn, found.workspace_id, programme, clock.now())
        joined = campaign is not None and growth_store.participant_of(
            conn, found.workspace_id, campaign.id, profile_id) is not None
    template_id = campaign.rules.get("poster_template_id") if campaign is not None else None
    if not joined or template_id is None:
        return Response(status_code=404, headers=NO_STORE)
    try:
        png = poster_png(rt, found.workspace_id, int(template_id), profile_id)
    except SiyuError:  # the template was deleted since the campaign named it
        return Response(status_code=404, headers=NO_STORE)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})
