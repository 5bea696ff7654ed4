"""``/r/{token}`` (a tracked link: record the click, redirect) and ``/o/{token}.gif`` (the e-mail
open pixel). Public, no login: the random token is the only key, and it only ever leads to the URL
siyu stored for it — never an open redirect."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import write
from siyu.messaging import tracking
from siyu.messaging.unsubscribe_api import page

router = APIRouter(tags=["messages"])

TOKEN = re.compile(r"[A-Za-z0-9_-]{8,32}")  # what receipt_store.new_token makes, with room to grow
NO_STORE = {"Cache-Control": "no-store, max-age=0"}  # every click and open must reach siyu
# The smallest transparent GIF (1×1, 43 bytes), as every open-tracking pixel serves it.
PIXEL = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _unknown() -> HTMLResponse:
    return page("链接无效 · Invalid link", "<h1>链接无效</h1><p>这个链接无效或已过期。</p>"
                "<h1>Invalid link</h1><p>This link is not valid.</p>", 404)


@router.get("/r/{token}", response_class=RedirectResponse, status_code=302,
            summary="A tracked link: records the click and redirects (with UTM parameters)")
def follow_link(request: Request, token: str) -> Response:
    if not TOKEN.fullmatch(token):
        return _unknown()
    with write(runtime_of(request).engine) as conn:
        target = tracking.follow(conn, token, clock.now())
    if target is None:
        return _unknown()
    return RedirectResponse(target, status_code=302, headers=NO_STORE)


@router.get("/o/{token}.gif", summary="The e-mail open pixel: records the open, answers a 1×1 GIF")
def open_pixel(request: Request, token: str) -> Response:
    known = False
    if TOKEN.fullmatch(token):
        with write(runtime_of(request).engine) as conn:
            known = tracking.opened(conn, token, clock.now())
    # an unknown token still gets the image (a broken-image icon helps nobody), with a 404 status
    return Response(PIXEL, media_type="image/gif", status_code=200 if known else 404, headers=NO_STORE)
