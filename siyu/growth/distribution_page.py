"""The public side of a promoter: their link ``/p/{token}`` (a touch recorded, then on to the
landing URL with ``siyu_ref``), their small personal page ``/p/{token}/page`` (mobile, zh / en:
name, products or the landing link, the QR of their link) and that QR as a PNG.

No login: the 128-bit token is the address. The visitor cookie ``siyu_vid`` is first-party,
signed, HttpOnly and SameSite=Lax; opening the page records nothing, following the link does.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from siyu import clock
from siyu.acquisition import qr
from siyu.acquisition.forms import language
from siyu.api.auth import runtime_of
from siyu.db.engine import read, write
from siyu.growth import distribution_promoters as promoters
from siyu.growth import distribution_store as store
from siyu.growth.distribution_models import PromoterStatus

public_router = APIRouter(tags=["distribution"])
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,32}")
VISITOR_DAYS = 365
NO_STORE = {"Cache-Control": "no-store"}
TEXT = {
    "zh": {"recommends": "{name} 为你推荐", "open": "去看看", "scan": "长按识别二维码，或分享给朋友",
           "missing": "链接无效", "paused": "推荐已暂停", "switch": "English"},
    "en": {"recommends": "Recommended by {name}", "open": "Open", "scan": "Scan or share this code",
           "missing": "This link is not valid", "paused": "These recommendations are paused", "switch": "中文"},
}
_env = Environment(autoescape=True)
PAGE = _env.from_string((Path(__file__).parents[1] / "web" / "templates" / "distribution_public.html")
                        .read_text(encoding="utf-8"))


def _missing(lang: str) -> HTMLResponse:
    return HTMLResponse(PAGE.render(lang=lang, t=TEXT[lang], promoter=None), status_code=404, headers=NO_STORE)


@public_router.get("/p/{token}", summary="A promoter's link: records a touch, leads to the landing URL")
def follow(request: Request, token: str) -> Response:
    rt = runtime_of(request)
    lang = language(request.query_params.get("lang"), request.headers.get("accept-language"))
    if not TOKEN.fullmatch(token):
        return _missing(lang)
    secret = rt.session_secret()
    visitor = promoters.read_visitor(secret, request.cookies.get(promoters.VISITOR_COOKIE))
    known = [v[:200] for v in (request.cookies.get("siyu_aid"),) if v]
    with write(rt.engine) as conn:
        followed = promoters.follow(conn, token, visitor_id=visitor, known_ids=known, now=clock.now(),
                                    ref_given=request.query_params.get(promoters.REF_PARAMETER))
    if followed is None:
        return _missing(lang)
    promoter, ref, visitor = followed
    chosen = request.query_params.get("item", "")
    item = int(chosen) if chosen.isdigit() and len(chosen) < 3 else None  # a product of the page, or the landing
    target = promoters.destination(promoter, f"{rt.config.public_url}/p/{token}/page", ref, item)
    response = RedirectResponse(target, status_code=302, headers=NO_STORE)
    response.set_cookie(promoters.VISITOR_COOKIE, promoters.sign_visitor(secret, visitor),
                        max_age=VISITOR_DAYS * 86400, httponly=True, samesite="lax")
    return response


@public_router.get("/p/{token}/page", response_class=HTMLResponse, summary="A promoter's personal page")
def page(request: Request, token: str) -> HTMLResponse:
    rt = runtime_of(request)
    lang = language(request.query_params.get("lang"), request.headers.get("accept-language"))
    found = None
    if TOKEN.fullmatch(token):
        with read(rt.engine) as conn:
            found = store.promoter_by_token(conn, token)
    if found is None:
        return _missing(lang)
    promoter = found[1]
    html = PAGE.render(lang=lang, t=TEXT[lang], promoter=promoter, link=f"/p/{token}",
                       paused=promoter.status is not PromoterStatus.ACTIVE,
                       title=TEXT[lang]["recommends"].format(name=promoter.name))
    return HTMLResponse(html, headers=NO_STORE)


@public_router.get("/p/{token}/qr.png", response_class=Response, summary="The QR of a promoter's link")
def qr_png(request: Request, token: str) -> Response:
    rt = runtime_of(request)
    found = None
    if TOKEN.fullmatch(token):
        with read(rt.engine) as conn:
            found = store.promoter_by_token(conn, token)
    if found is None:
        return Response(status_code=404)
    return Response(qr.png(f"{rt.config.public_url}/p/{token}", box_size=8), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})
