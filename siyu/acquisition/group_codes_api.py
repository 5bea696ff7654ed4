"""``/api/group-codes``: group live codes (群活码) — the codes, their groups and QR images, figures,
alerts; ``/g/{token}``: the public page (and ``/g/{token}.json``) that always shows a group with room."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from html import escape
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from siyu import clock
from siyu.acquisition import group_codes_live as live
from siyu.acquisition import group_codes_store as store
from siyu.acquisition.group_codes import (
    DEFAULT_CAPACITY,
    MAX_IMAGE_BYTES,
    QR_VALIDITY,
    GroupCodeError,
    Strategy,
    check_image,
    choose,
)
from siyu.api.auth import require, runtime_of
from siyu.api.patch import patch_values
from siyu.db.engine import read, write
from siyu.groups import store as group_store
from siyu.groups.figures import day_range, join_figures
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/group-codes", tags=["group codes"])
public_router = APIRouter(tags=["group codes"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]  # acquisition set-up, like segments
CodeId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EntryId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NO_STORE = {"Cache-Control": "no-store, max-age=0"}


class CodeIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    title: str | None = Field(None, max_length=200, description="Shown on the public page")
    strategy: Strategy = Strategy.IN_ORDER
    alert_webhook_url: str | None = Field(None, max_length=500, pattern=r"^https?://")


class CodePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    title: str | None = Field(None, max_length=200)
    strategy: Strategy | None = None
    alert_webhook_url: str | None = Field(None, max_length=500, pattern=r"^(https?://.*)?$")
    status: Literal["active", "archived"] | None = None


class EntryPatch(BaseModel):
    label: str | None = Field(None, min_length=1, max_length=200)
    capacity: int | None = Field(None, ge=1, le=100_000)
    manual_count: int | None = Field(None, ge=0, le=100_000)
    group_id: int | None = Field(None, ge=0, le=2**62, description="A community group to count from; 0 unlinks")
    position: int | None = Field(None, ge=0, le=100_000)


def _code(conn: Any, workspace_id: int, code_id: int) -> dict[str, Any]:
    code = store.get_code(conn, workspace_id, code_id)
    if code is None:
        raise GroupCodeError(f"No group live code {code_id} in this workspace.", code="group_codes.not_found",
                             status=404, details={"code_id": code_id})
    return code


def describe(conn: Any, request: Request, code: dict[str, Any]) -> dict[str, Any]:
    now = clock.now()
    rows = store.entries_of(conn, code["workspace_id"], code["id"])
    shown = store.shown_totals(conn, code["workspace_id"], code["id"])
    chosen = choose(live.entries(rows), Strategy(code["strategy"]), now)
    base = runtime_of(request).config.public_url
    groups = [{**{k: v for k, v in row.items() if k not in ("workspace_id", "qr_sha256")},
               "state": entry.state(now).value, "shown": shown.get(row["id"], 0),
               "image_url": f"/api/group-codes/{code['id']}/groups/{row['id']}/image"}
              for row, entry in zip(rows, live.entries(rows), strict=True)]
    return {**{k: v for k, v in code.items() if k != "workspace_id"}, "page_url": f"{base}/g/{code['token']}",
            "showing": chosen.id if chosen else None, "views": sum(shown.values()),
            "none_left_views": shown.get(0, 0), "groups": groups}


@router.post("", status_code=201, summary="Create a group live code")
def create_code(request: Request, caller: Writer, body: CodeIn) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        code_id = store.create_code(conn, caller.workspace_id, token=secrets.token_urlsafe(12), name=body.name,
                                    title=body.title, strategy=body.strategy.value,
                                    alert_webhook_url=body.alert_webhook_url, now=clock.now())
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


@router.get("", summary="Group live codes")
def list_codes(request: Request, caller: Reader) -> list[dict[str, Any]]:
    live.views(runtime_of(request)).flush()  # this process's page views, before the snapshot is taken
    with read(runtime_of(request).engine) as conn:
        return [describe(conn, request, code) for code in store.list_codes(conn, caller.workspace_id)]


@router.get("/alerts", summary="Alerts of every code, newest first")
def all_alerts(request: Request, caller: Reader,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return store.alerts_of(conn, caller.workspace_id, limit=limit)


@router.get("/{code_id}", summary="A code with its groups: state (available, full, expired), counts, views")
def get_code(request: Request, caller: Reader, code_id: CodeId) -> dict[str, Any]:
    live.views(runtime_of(request)).flush()  # this process's page views, before the snapshot is taken
    with read(runtime_of(request).engine) as conn:
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


@router.patch("/{code_id}", summary="Rename, change the strategy or webhook, archive")
def edit_code(request: Request, caller: Writer, code_id: CodeId, body: CodePatch) -> dict[str, Any]:
    values = patch_values(body, nullable=("title", "alert_webhook_url"))
    if "strategy" in values and values["strategy"] is not None:
        values["strategy"] = Strategy(values["strategy"]).value
    if values.get("alert_webhook_url") == "":
        values["alert_webhook_url"] = None
    with write(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        store.update_code(conn, caller.workspace_id, code_id, clock.now(), **values)
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


async def _image(upload: UploadFile) -> tuple[bytes, str, str]:
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    mime, _, _ = check_image(data)
    return data, mime, hashlib.sha256(data).hexdigest()


def _linked(conn: Any, workspace_id: int, group_id: int | None) -> int | None:
    if not group_id:
        return None
    if group_store.get_group(conn, workspace_id, group_id) is None:
        raise GroupCodeError(f"No community group {group_id} in this workspace.", code="group_codes.no_such_group",
                             details={"field": "group_id"})
    return group_id


def _expiry(expires_at: datetime | None, now: datetime) -> datetime:
    if expires_at is None:
        return now + QR_VALIDITY
    if expires_at.tzinfo is None:
        raise GroupCodeError("expires_at needs a time zone (e.g. 2026-12-07T12:00:00+08:00).",
                             details={"field": "expires_at"})
    if expires_at <= now:
        raise GroupCodeError("expires_at is in the past.", details={"field": "expires_at"})
    return expires_at


@router.post("/{code_id}/groups", status_code=201, summary="Add a group: its QR image (PNG or JPEG, ≤ 2 MB)")
async def add_group(request: Request, caller: Writer, code_id: CodeId,
                    image: Annotated[UploadFile, File(description="The group's QR code, PNG or JPEG")],
                    label: Annotated[str, Form(min_length=1, max_length=200)],
                    capacity: Annotated[int, Form(ge=1, le=100_000)] = DEFAULT_CAPACITY,
                    manual_count: Annotated[int, Form(ge=0, le=100_000)] = 0,
                    group_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
                    position: Annotated[int | None, Form(ge=0, le=100_000)] = None,
                    expires_at: Annotated[datetime | None, Form(description="Default: 7 days from now")] = None,
                    ) -> dict[str, Any]:
    data, mime, sha = await _image(image)
    now = clock.now()
    with write(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        store.add_entry(conn, caller.workspace_id, code_id, label=label, capacity=capacity, manual_count=manual_count,
                        group_id=_linked(conn, caller.workspace_id, group_id), image=data, mime=mime, sha256=sha,
                        uploaded_at=now, expires_at=_expiry(expires_at, now), position=position)
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


@router.put("/{code_id}/groups/{entry_id}/image", summary="Upload a fresh QR for a group (expiry starts again)")
async def replace_image(request: Request, caller: Writer, code_id: CodeId, entry_id: EntryId,
                        image: Annotated[UploadFile, File()],
                        expires_at: Annotated[datetime | None, Form()] = None) -> dict[str, Any]:
    data, mime, sha = await _image(image)
    now = clock.now()
    with write(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        if not store.update_entry(conn, caller.workspace_id, code_id, entry_id, qr_image=data, qr_mime=mime,
                                  qr_sha256=sha, uploaded_at=now, expires_at=_expiry(expires_at, now)):
            raise _no_entry(entry_id)
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


def _no_entry(entry_id: int) -> GroupCodeError:
    return GroupCodeError(f"No group {entry_id} on this code.", code="group_codes.not_found", status=404,
                          details={"entry_id": entry_id})


@router.patch("/{code_id}/groups/{entry_id}", summary="Change a group's label, capacity, count, link or position")
def edit_group(request: Request, caller: Writer, code_id: CodeId, entry_id: EntryId, body: EntryPatch
               ) -> dict[str, Any]:
    values = patch_values(body)
    with write(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        if "group_id" in values:
            values["group_id"] = _linked(conn, caller.workspace_id, values["group_id"])
        if values and not store.update_entry(conn, caller.workspace_id, code_id, entry_id, **values):
            raise _no_entry(entry_id)
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


@router.delete("/{code_id}/groups/{entry_id}", summary="Take a group off the code")
def remove_group(request: Request, caller: Writer, code_id: CodeId, entry_id: EntryId) -> dict[str, Any]:
    with write(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        if not store.update_entry(conn, caller.workspace_id, code_id, entry_id, removed_at=clock.now()):
            raise _no_entry(entry_id)
        return describe(conn, request, _code(conn, caller.workspace_id, code_id))


@router.get("/{code_id}/groups/{entry_id}/image", summary="A group's uploaded QR image")
def group_image(request: Request, caller: Reader, code_id: CodeId, entry_id: EntryId) -> Response:
    with read(runtime_of(request).engine) as conn:
        found = store.entry_image(conn, caller.workspace_id, code_id, entry_id)
    if found is None:
        raise _no_entry(entry_id)
    return Response(found[0], media_type=found[1])


@router.get("/{code_id}/stats", summary="Per day: page views, the group shown, joins per group")
def stats(request: Request, caller: Reader, code_id: CodeId,
          days: Annotated[int, Query(ge=1, le=366)] = 30) -> list[dict[str, Any]]:
    live.views(runtime_of(request)).flush()
    with read(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        zone = ZoneInfo(workspace_store.get_workspace(conn, caller.workspace_id).timezone)
        rows = store.entries_of(conn, caller.workspace_id, code_id, include_removed=True)
        span = day_range(clock.now().astimezone(zone).date(), days)
        shown = store.shown_per_day(conn, caller.workspace_id, code_id, span[0].isoformat())
        by_group = {row["group_id"]: row["id"] for row in rows if row["group_id"]}
        joins = join_figures(conn, caller.workspace_id, list(by_group), zone, days, clock.now())
    figures = []
    for day, joined in zip(span, joins, strict=True):
        today = [s for s in shown if s["day"] == day.isoformat()]
        figures.append({"day": day.isoformat(), "views": sum(s["shown"] for s in today),
                        "shown": {s["entry_id"]: s["shown"] for s in today if s["entry_id"]},
                        "none_left": sum(s["shown"] for s in today if not s["entry_id"]),
                        "joins": {by_group[g]: n for g, n in joined["by_group"].items()}})  # type: ignore[union-attr]
    return figures


@router.get("/{code_id}/alerts", summary="The code's alerts, newest first")
def alerts(request: Request, caller: Reader, code_id: CodeId) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        _code(conn, caller.workspace_id, code_id)
        return store.alerts_of(conn, caller.workspace_id, code_id)


# --- the public page -------------------------------------------------------------------------------

TEXTS = {
    "zh": {"join": "长按识别二维码，加入群聊", "expires": "二维码有效期至", "none_title": "群已满",
           "none": "这个群码暂时没有可以加入的群了。我们已经通知了工作人员，新的群很快就来，请稍后再打开这个页面看看。",
           "missing": "这个群码不存在或已停用。", "lang": "zh-CN", "other": "English", "other_lang": "en"},
    "en": {"join": "Press and hold the QR code to join the group", "expires": "QR code valid until",
           "none_title": "All groups are full", "none": "There is no group with room right now. We have let the "
           "team know, and a new group is on its way — please open this page again a little later.",
           "missing": "This group code does not exist or is no longer in use.", "lang": "en", "other": "中文",
           "other_lang": "zh"},
}

_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover"><title>{title}</title>
<style>
body{{margin:0;font-family:-apple-system,"PingFang SC","Noto Sans CJK SC",system-ui,sans-serif;background:#f6f7f9;
color:#1f2329;text-align:center}}
main{{max-width:28rem;margin:0 auto;padding:2rem 1.25rem 3rem}}
h1{{font-size:1.35rem;margin:.5rem 0 1rem}}
.card{{background:#fff;border-radius:16px;padding:1.5rem 1rem;box-shadow:0 2px 12px rgba(0,0,0,.06)}}
img{{width:100%;max-width:18rem;height:auto;display:block;margin:0 auto}}
.label{{font-weight:600;margin:.75rem 0 .25rem}} .muted{{color:#646a73;font-size:.9rem;line-height:1.6}}
nav{{margin-top:1.5rem;font-size:.85rem}} a{{color:#3370ff}}
</style></head><body><main>{body}<nav><a id="switch-language" href="?lang={other_lang}">{other}</a></nav>
</main></body></html>"""


def _language(request: Request) -> str:
    asked = request.query_params.get("lang", "")
    if asked in TEXTS:
        return asked
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "zh"


def _page(language: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    text = TEXTS[language]
    return HTMLResponse(_PAGE.format(lang=text["lang"], title=escape(title), body=body, other=text["other"],
                                     other_lang=text["other_lang"]), status_code=status, headers=NO_STORE)


def _image_path(token: str, entry: dict[str, Any]) -> str:
    return f"/g/{token}/qr/{entry['id']}?v={entry['qr_sha256'][:12]}"


@public_router.get("/g/{token}.json", summary="The group live code's current group, as JSON")
def public_json(request: Request, token: str) -> JSONResponse:
    seen = live.view(runtime_of(request), token) if len(token) <= 32 else None
    if seen is None:
        return JSONResponse({"error": {"code": "group_codes.not_found", "message": TEXTS["en"]["missing"],
                                       "details": {}}}, status_code=404, headers=NO_STORE)
    code, entry = seen
    group = None if entry is None else {
        "id": entry["id"], "label": entry["label"], "image_url": _image_path(token, entry),
        "expires_at": entry["expires_at"].isoformat(), "room": entry["capacity"] - entry["count"]}
    return JSONResponse({"title": code["title"] or code["name"], "group": group, "none_left": entry is None},
                        headers=NO_STORE)


@public_router.get("/g/{token}", response_class=HTMLResponse, summary="The public group live code page")
def public_page(request: Request, token: str) -> HTMLResponse:
    language = _language(request)
    text = TEXTS[language]
    seen = live.view(runtime_of(request), token) if len(token) <= 32 else None
    if seen is None:
        return _page(language, "群活码 · Group code", f'<div class="card"><p class="muted">{text["missing"]}</p></div>',
                     404)
    code, entry = seen
    title = code["title"] or code["name"]
    if entry is None:
        return _page(language, title, f'<h1>{escape(title)}</h1><div class="card" id="none-left">'
                     f'<p class="label">{text["none_title"]}</p><p class="muted">{text["none"]}</p></div>')
    zone = ZoneInfo("Asia/Shanghai")
    expires = entry["expires_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return _page(language, title, f'<h1>{escape(title)}</h1><div class="card">'
                 f'<img id="group-qr" src="{escape(_image_path(token, entry))}" alt="{escape(entry["label"])}">'
                 f'<p class="label" id="group-label">{escape(entry["label"])}</p>'
                 f'<p class="muted">{text["join"]}</p><p class="muted">{text["expires"]} {expires}</p></div>')


@public_router.get("/g/{token}/qr/{entry_id}", summary="A group's QR image on the public page")
def public_image(request: Request, token: str, entry_id: EntryId) -> Response:
    with read(runtime_of(request).engine) as conn:
        code = store.code_by_token(conn, token) if len(token) <= 32 else None
        found = None if code is None else store.entry_image(conn, code["workspace_id"], code["id"], entry_id)
    if found is None:
        return Response(status_code=404, headers=NO_STORE)
    # The address carries the image's hash: a new upload is a new address, so this one may be cached.
    return Response(found[0], media_type=found[1], headers={"Cache-Control": "public, max-age=86400"})

