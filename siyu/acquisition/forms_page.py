"""``/f/{slug}``: the public, mobile-first form page, and the two JSON calls it makes.

No login: the slug is the address. The page is in Chinese or English (``?lang=``, else the
browser's preference), keeps the ``utm_*`` parameters it was opened with (they name the channel of
this visit), sets a first-party visitor id (``siyu_aid``) so the submission joins that device to the
person, and never ticks the consent box for anyone.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from siyu import clock
from siyu.acquisition import forms_service
from siyu.acquisition import forms_store as store
from siyu.acquisition.forms import FormError, language, parse_definition
from siyu.api.auth import runtime_of
from siyu.db.counters import counter_for
from siyu.db.engine import read
from siyu.workspaces import store as workspace_store

router = APIRouter(tags=["forms"])
MAX_BODY = 16 * 1024
COOKIE = "siyu_aid"

TEXT = {
    "zh": {"phone": "手机号", "code": "验证码", "send": "获取验证码", "resend": "{s} 秒后重发", "submit": "提交",
           "privacy": "隐私政策", "closed": "活动已结束", "closed_body": "这个表单已关闭，感谢关注。",
           "missing": "页面不存在", "missing_body": "这个链接无效。", "sent": "验证码已发送",
           "errors": {"forms.invalid_phone": "请输入正确的手机号", "forms.consent_required": "请先勾选同意",
                      "forms.too_many_codes": "发送太频繁，请稍后再试",
                      "forms.sms_failed": "验证码发送失败，请稍后再试",
                      "forms.sms_not_configured": "暂时无法发送验证码", "forms.wrong_code": "验证码不正确",
                      "forms.no_code": "请先获取验证码", "forms.code_expired": "验证码已过期，请重新获取",
                      "forms.code_locked": "错误次数过多，请重新获取验证码",
                      "forms.code_used": "验证码已使用，请重新获取",
                      "forms.missing_answer": "请填写必填项", "forms.invalid_answer": "请检查填写的内容",
                      "forms.closed": "活动已结束", "network": "网络异常，请重试"}},
    "en": {"phone": "Mobile number", "code": "Verification code", "send": "Get code", "resend": "Resend in {s}s",
           "submit": "Submit", "privacy": "Privacy policy", "closed": "This form is closed",
           "closed_body": "This form no longer takes answers. Thank you.", "missing": "Page not found",
           "missing_body": "This link is not valid.", "sent": "Code sent",
           "errors": {"forms.invalid_phone": "Enter a valid mobile number", "forms.consent_required":
                      "Tick the box to agree first", "forms.too_many_codes": "Too many codes; try again later",
                      "forms.sms_failed": "The code could not be sent; try again", "forms.sms_not_configured":
                      "Codes cannot be sent right now", "forms.wrong_code": "The code is not right",
                      "forms.no_code": "Get a code first", "forms.code_expired": "The code expired; get a new one",
                      "forms.code_locked": "Too many wrong codes; get a new one", "forms.code_used":
                      "This code was used; get a new one", "forms.missing_answer": "Fill in the required fields",
                      "forms.invalid_answer": "Check your answers", "forms.closed": "This form is closed",
                      "network": "Network problem; try again"}},
}

_env = Environment(autoescape=True)
PAGE = _env.from_string((Path(__file__).parent / "templates" / "form.html").read_text(encoding="utf-8"))


def _write_views(conn: Any, counts: dict[Any, int]) -> None:
    for (workspace_id, form_id, day), count in sorted(counts.items()):
        store.count_view(conn, workspace_id, form_id, day, count)


def views(rt: Any) -> Any:
    """Page views, counted in memory and written each second (:mod:`siyu.db.counters`)."""
    return counter_for(rt, "form_views", _write_views)


def _visitor(request: Request, body: dict[str, Any] | None = None) -> forms_service.Visitor:
    requested = (body or {}).get("lang") or request.query_params.get("lang")
    return forms_service.Visitor(ip=request.client.host if request.client else None,
                                 user_agent=request.headers.get("user-agent"),
                                 language=language(requested if isinstance(requested, str) else None,
                                                   request.headers.get("accept-language")))


def _page(lang: str, *, status: int = 200, state: str | None = None, **values: Any) -> HTMLResponse:
    t = TEXT[lang]
    title = values.pop("title", t.get(state or "", ""))
    html = PAGE.render(lang=lang, t=t, state=state, strings=_script_json(t), title=title, **values)
    return HTMLResponse(html, status_code=status)


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</script>" can close it early)."""
    return orjson.dumps(value).decode().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


@router.get("/f/{slug}", response_class=HTMLResponse, summary="A hosted form (public page)")
def form_page(request: Request, slug: str) -> HTMLResponse:
    rt = runtime_of(request)
    lang = _visitor(request).language
    try:
        workspace_id, form = forms_service.open_form(rt, slug[:64])
    except FormError as error:
        state = "closed" if error.code == "forms.closed" else "missing"
        return _page(lang, status=error.status, state=state)
    definition = parse_definition(form["definition"])
    with read(rt.engine) as conn:
        timezone = workspace_store.get_workspace(conn, workspace_id).timezone
    views(rt).add((workspace_id, form["id"], clock.now().astimezone(ZoneInfo(timezone)).date().isoformat()))
    aid = request.cookies.get(COOKIE) or uuid.uuid4().hex
    utm = {k: v[:200] for k, v in request.query_params.items() if k.startswith("utm_")}
    response = _page(lang, title=definition.title[lang], description=definition.description.get(lang),
                     fields=definition.fields, verify=definition.verify_phone,
                     consent=definition.consent_text[lang], privacy_url=definition.privacy_url,
                     base=_script_json(f"/f/{slug}"), utm=_script_json(utm), aid=_script_json(aid))
    response.set_cookie(COOKIE, aid, max_age=365 * 86400, httponly=True, samesite="lax")
    return response


async def _json_body(request: Request) -> dict[str, Any]:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise FormError("The request is too large.", code="forms.too_large", status=413)
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise FormError("The request is not valid JSON.", code="forms.malformed") from None
    if not isinstance(body, dict):
        raise FormError("The request must be a JSON object.", code="forms.malformed")
    return body


@router.post("/f/{slug}/code", summary="Send an SMS verification code to the number on a form")
async def request_code(request: Request, slug: str) -> JSONResponse:
    body = await _json_body(request)
    answer = await run_in_threadpool(forms_service.send_code, runtime_of(request), slug[:64], body,
                                     _visitor(request, body))
    return JSONResponse(answer)


@router.post("/f/{slug}/submit", summary="Submit a form (verified phone, answers, consent)")
async def submit_form(request: Request, slug: str) -> JSONResponse:
    body = await _json_body(request)
    answer = await run_in_threadpool(forms_service.submit, runtime_of(request), slug[:64], body,
                                     _visitor(request, body))
    return JSONResponse(answer)
