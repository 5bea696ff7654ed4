"""Survey links and the public mobile page ``/survey/{token}`` (``/s/`` is the posters' share links).

A link is signed like the unsubscribe link (:mod:`siyu.messaging.unsubscribe`): itsdangerous'
HMAC-SHA1 serializer over ``[workspace, survey, profile, send_key]`` with the server's secret and
its own salt, so a link cannot be forged or moved to another person or survey, and needs no table.
It does not expire (a message read a week later still works); the answer rules (one per send, a
re-answer within 7 days replaces) are the store's, and which sending a link stands for is
:mod:`siyu.surveys.sends`'. No login: the token is the authority.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection

from siyu import clock
from siyu.api.auth import runtime_of
from siyu.db.engine import read, write
from siyu.profiles.errors import ProfileNotFound
from siyu.profiles.read_store import resolve_profile_id
from siyu.runtime import Runtime
from siyu.surveys import store
from siyu.surveys.errors import SurveyError
from siyu.surveys.models import Survey
from siyu.surveys.sends import DEFAULT_SEND

SALT = "siyu-survey"
router = APIRouter(tags=["surveys"])


def token_for(secret: str, workspace_id: int, survey_id: int, profile_id: int, send_key: str = DEFAULT_SEND) -> str:
    return URLSafeSerializer(secret, salt=SALT).dumps([workspace_id, survey_id, profile_id, send_key])


def read_token(secret: str, token: str) -> tuple[int, int, int, str] | None:
    try:
        workspace_id, survey_id, profile_id, send_key = URLSafeSerializer(secret, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (all(isinstance(v, int) for v in (workspace_id, survey_id, profile_id)) and isinstance(send_key, str)):
        return None
    return workspace_id, survey_id, profile_id, send_key


def link_for(public_url: str, secret: str, workspace_id: int, survey_id: int, profile_id: int,
             send_key: str = DEFAULT_SEND) -> str:
    return f"{public_url}/survey/{token_for(secret, workspace_id, survey_id, profile_id, send_key)}"


def issue_links(conn: Connection, rt: Runtime, workspace_id: int, survey_id: int, *, profile_ids: list[int] | None,
                segment_id: int | None, send_key: str, save_trait: bool) -> list[dict[str, Any]]:
    """Links for the people named or a segment's members (at most 100,000). With ``save_trait``
    each link is also stored in the person's trait ``survey_<id>_link``, so a journey's send step
    can write ``{{ profile.traits.survey_<id>_link }}`` (the message templates see traits, not
    secrets)."""
    from siyu.profiles.editing import edit_traits
    from siyu.segments import store as segment_store

    store.get_survey(conn, workspace_id, survey_id)
    if (profile_ids is None) == (segment_id is None):
        raise SurveyError("Give profile_ids or segment_id (one of them).", details={"field": "profile_ids"})
    if segment_id is not None:
        segment_store.get_segment(conn, workspace_id, segment_id)
        people = segment_store.member_ids(conn, workspace_id, segment_id, limit=100_000)
    else:
        people = [resolve_profile_id(conn, workspace_id, p) for p in profile_ids or []]
    secret, base, found = rt.session_secret(), rt.config.public_url, []
    for person in people:
        url = link_for(base, secret, workspace_id, survey_id, person, send_key)
        if save_trait:
            edit_traits(conn, workspace_id, person, {f"survey_{survey_id}_link": url}, [], actor="surveys")
        found.append({"profile_id": person, "url": url})
    return found


_STYLE = """body{font-family:system-ui,sans-serif;max-width:32rem;margin:1.5rem auto;padding:0 1rem;line-height:1.6}
.scale{display:grid;grid-template-columns:repeat(6,1fr);gap:.4rem;margin:1rem 0}
.scale label{display:block;text-align:center;border:1px solid #ccc;border-radius:.4rem;padding:.6rem 0}
.scale input{display:none}.scale input:checked+span{font-weight:bold;color:#c0392b}
.ends{display:flex;justify-content:space-between;color:#666;font-size:.85rem}
textarea{width:100%;min-height:5rem}button{font-size:1rem;padding:.6rem 1.2rem;margin-top:1rem;width:100%}"""
_WORDS = {"zh": ("不太可能", "非常可能", "提交", "链接无效", "这个问卷链接无效或已损坏。", "请选择 0–10 的分数。"),
          "en": ("Not likely", "Very likely", "Submit", "Invalid link", "This survey link is not valid.",
                 "Please choose a score from 0 to 10.")}


def _language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.headers.get("accept-language", "")
    return "en" if asked.lower().startswith("en") else "zh"


def _page(language: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (f'<!doctype html><html lang="{"en" if language == "en" else "zh-CN"}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")
    return HTMLResponse(html, status_code=status)


def _invalid(language: str) -> HTMLResponse:
    words = _WORDS[language]
    return _page(language, words[3], f"<h1>{words[3]}</h1><p>{words[4]}</p>", 404)


def _form(survey: Survey, token: str, language: str, error: str | None = None) -> HTMLResponse:
    words = _WORDS[language]
    scale = "".join(f'<label><input type="radio" name="score" value="{n}" required><span>{n}</span></label>'
                    for n in range(11))
    comment = (f'<p><label for="comment">{escape(survey.text("comment", language))}</label></p>'
               '<textarea id="comment" name="comment" maxlength="2000"></textarea>') if survey.asks_comment else ""
    warning = f'<p role="alert">{escape(error)}</p>' if error else ""
    question = escape(survey.text("question", language))
    ends = f'<div class="ends"><span>0 · {words[0]}</span><span>10 · {words[1]}</span></div>'
    body = (f'<form method="post" action="/survey/{escape(token)}?lang={language}"><h1>{question}</h1>{warning}'
            f'<div class="scale">{scale}</div>{ends}{comment}<button type="submit">{words[2]}</button></form>')
    return _page(language, survey.name, body, 422 if error else 200)


@router.get("/survey/{token}", response_class=HTMLResponse, summary="The survey's public mobile page")
def survey_page(request: Request, token: str) -> HTMLResponse:
    rt, language = runtime_of(request), _language(request)
    found = read_token(rt.session_secret(), token)
    if found is None:
        return _invalid(language)
    try:
        with read(rt.engine) as conn:
            survey = store.get_survey(conn, found[0], found[1])
    except SurveyError:
        return _invalid(language)
    return _form(survey, token, language)


@router.post("/survey/{token}", response_class=HTMLResponse, summary="Answer the survey")
def answer_survey(request: Request, token: str, score: Annotated[str, Form()] = "",
                  comment: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    rt, language = runtime_of(request), _language(request)
    found = read_token(rt.session_secret(), token)
    if found is None:
        return _invalid(language)
    workspace_id, survey_id, profile_id, send_key = found
    try:
        with write(rt.engine) as conn:
            survey = store.get_survey(conn, workspace_id, survey_id)
            if not (score.isdigit() and 0 <= int(score) <= 10):
                return _form(survey, token, language, _WORDS[language][5])
            store.answer(conn, workspace_id, survey, profile_id, send_key, int(score),
                         comment.strip()[:2000] if survey.asks_comment else None, clock.now())
    except ProfileNotFound:
        return _invalid(language)
    except SurveyError as error:
        if error.status == 404:
            return _invalid(language)
        return _page(language, survey.name, f"<h1>{escape(survey.name)}</h1><p>{escape(_closed(language))}</p>",
                     409)
    return _page(language, survey.name, f"<h1>{escape(survey.text('thanks', language))}</h1>")


def _closed(language: str) -> str:
    return ("This survey can no longer be answered." if language == "en" else "这份问卷已无法再作答。")
