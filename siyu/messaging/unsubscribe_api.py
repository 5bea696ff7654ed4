"""``/u/{token}``: the public unsubscribe page and its one-click POST (RFC 8058). No login: the
signed token is the authority. Bilingual, because the reader is a customer, not an operator."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.api.auth import runtime_of
from siyu.db.engine import write
from siyu.messaging.unsubscribe import read_token
from siyu.messaging.unsubscribe import unsubscribe as unsubscribe_person
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import resolve_profile_id

router = APIRouter(tags=["messages"])

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.6}}
button{{font-size:1rem;padding:.6rem 1.2rem}}</style></head><body>{body}</body></html>"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A small bilingual page for customers (unsubscribe, a broken tracked link)."""
    return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status)


def _unknown() -> HTMLResponse:
    return page("链接无效 · Invalid link", "<h1>链接无效</h1><p>这个退订链接无效或已损坏。</p>"
                "<h1>Invalid link</h1><p>This unsubscribe link is not valid.</p>", 404)


@router.get("/u/{token}", response_class=HTMLResponse, summary="Unsubscribe page (one button)")
def unsubscribe_page(request: Request, token: str) -> HTMLResponse:
    if read_token(runtime_of(request).session_secret(), token) is None:
        return _unknown()
    action = escape(f"/u/{token}")
    return page("退订 · Unsubscribe", f"""<h1>退订营销消息</h1><p>点击下面的按钮，不再接收此渠道的营销消息。</p>
<h1>Unsubscribe</h1><p>Press the button to stop marketing messages on this channel.</p>
<form method="post" action="{action}"><button type="submit">退订 · Unsubscribe</button></form>""")


@router.post("/u/{token}", response_class=HTMLResponse, summary="Unsubscribe (RFC 8058 one-click POST)")
def unsubscribe(request: Request, token: str) -> HTMLResponse:
    rt = runtime_of(request)
    found = read_token(rt.session_secret(), token)
    if found is None:
        return _unknown()
    workspace_id, profile_id, channel = found
    try:
        with write(rt.engine) as conn:
            live = resolve_profile_id(conn, workspace_id, profile_id)
            unsubscribe_person(conn, workspace_id, live, channel)
    except ProfileNotFound:  # erased or gone: nothing left to send to
        pass
    return page("已退订 · Unsubscribed", "<h1>已退订</h1><p>你将不再收到此渠道的营销消息。</p>"
                "<h1>Unsubscribed</h1><p>You will no longer receive marketing messages on this channel.</p>")
