"""``/api/posters``: poster templates and each person's poster (PNG); public: ``/poster/{signed}``
(the share page), ``/poster/{signed}.png`` and ``/s/{token}`` (a person's tracked share link)."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from siyu import clock
from siyu.acquisition import posters_live as live
from siyu.acquisition import posters_store as store
from siyu.acquisition.posters import MAX_BACKGROUND_BYTES, PosterError, check_background, parse_layout
from siyu.api.auth import require, runtime_of
from siyu.db.engine import read, write
from siyu.profiles.errors import ProfileNotFound
from siyu.workspaces.models import Permission, Principal

router = APIRouter(prefix="/api/posters", tags=["posters"])
public_router = APIRouter(tags=["posters"])
Reader = Annotated[Principal, Depends(require(Permission.PROFILES_READ))]
Writer = Annotated[Principal, Depends(require(Permission.SEGMENTS_MANAGE))]
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ProfileId = Annotated[int, Path(ge=1, le=2**62)]
TOKEN = re.compile(r"[A-Za-z0-9_-]{8,32}")
PNG_HEADERS = {"Cache-Control": "private, max-age=300"}


class TemplatePatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    layout: dict[str, Any] | None = None
    target_url: str | None = Field(None, max_length=1000, pattern=r"^https?://")


def _template(conn: Any, workspace_id: int, template_id: int) -> dict[str, Any]:
    found = store.get_template(conn, workspace_id, template_id)
    if found is None:
        raise PosterError(f"No poster template {template_id} in this workspace.", code="posters.not_found",
                          status=404, details={"template_id": template_id})
    return {k: v for k, v in found.items() if k != "workspace_id"}


def _layout(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise PosterError("layout is not valid JSON.", details={"field": "layout"}) from None


@router.post("", status_code=201, summary="Create a template: background (PNG or JPEG) and layout JSON")
async def create_template(request: Request, caller: Writer,
                          background: Annotated[UploadFile, File(description="PNG or JPEG, ≤ 5 MB")],
                          name: Annotated[str, Form(min_length=1, max_length=200)],
                          layout: Annotated[str, Form(description="avatar, nickname, qr, caption boxes (JSON)")],
                          target_url: Annotated[str, Form(max_length=1000, pattern=r"^https?://")]
                          ) -> dict[str, Any]:
    data = await background.read(MAX_BACKGROUND_BYTES + 1)
    mime, width, height = check_background(data)
    raw = _layout(layout)
    parse_layout(raw, width, height)
    with write(runtime_of(request).engine) as conn:
        template_id = store.create_template(conn, caller.workspace_id, name=name, background=data, mime=mime,
                                            width=width, height=height, layout=raw, target_url=target_url,
                                            now=clock.now())
        return _template(conn, caller.workspace_id, template_id)


@router.get("", summary="Poster templates")
def list_templates(request: Request, caller: Reader) -> list[dict[str, Any]]:
    with read(runtime_of(request).engine) as conn:
        return [{k: v for k, v in t.items() if k != "workspace_id"}
                for t in store.list_templates(conn, caller.workspace_id)]


@router.get("/{template_id}", summary="A template, with its share links by visits")
def get_template(request: Request, caller: Reader, template_id: TemplateId) -> dict[str, Any]:
    with read(runtime_of(request).engine) as conn:
        found = _template(conn, caller.workspace_id, template_id)
        links = store.links_of_template(conn, caller.workspace_id, template_id)
    return {**found, "links": [{"profile_id": link["profile_id"], "token": link["token"], "hits": link["hits"],
                                "last_hit_at": link["last_hit_at"]} for link in links]}


@router.patch("/{template_id}", summary="Change the name, layout or target (a new version)")
def edit_template(request: Request, caller: Writer, template_id: TemplateId, body: TemplatePatch) -> dict[str, Any]:
    values = body.model_dump(exclude_unset=True, exclude_none=True)
    with write(runtime_of(request).engine) as conn:
        found = _template(conn, caller.workspace_id, template_id)
        if "layout" in values:
            parse_layout(values["layout"], found["width"], found["height"])
        if values:
            store.change_template(conn, caller.workspace_id, template_id, clock.now(), **values)
        return _template(conn, caller.workspace_id, template_id)


@router.put("/{template_id}/background", summary="A new background (a new version; the layout must still fit)")
async def replace_background(request: Request, caller: Writer, template_id: TemplateId,
                             background: Annotated[UploadFile, File()]) -> dict[str, Any]:
    data = await background.read(MAX_BACKGROUND_BYTES + 1)
    mime, width, height = check_background(data)
    with write(runtime_of(request).engine) as conn:
        found = _template(conn, caller.workspace_id, template_id)
        parse_layout(found["layout"], width, height)
        store.change_template(conn, caller.workspace_id, template_id, clock.now(), background=data,
                              background_mime=mime, width=width, height=height)
        return _template(conn, caller.workspace_id, template_id)


@router.get("/{template_id}/profiles/{profile_id}.png", response_class=Response,
            summary="The person's poster (PNG), drawn once and then served from the cache")
def poster(request: Request, caller: Reader, template_id: TemplateId, profile_id: ProfileId) -> Response:
    png = live.poster_png(runtime_of(request), caller.workspace_id, template_id, profile_id)
    return Response(png, media_type="image/png", headers=PNG_HEADERS)


@router.get("/{template_id}/profiles/{profile_id}/share", summary="The public, signed address of the person's poster")
def share(request: Request, caller: Reader, template_id: TemplateId, profile_id: ProfileId) -> dict[str, str]:
    rt = runtime_of(request)
    with read(rt.engine) as conn:
        _template(conn, caller.workspace_id, template_id)
    signed = live.share_token(rt.session_secret(), caller.workspace_id, template_id, profile_id)
    return {"page_url": f"{rt.config.public_url}/poster/{signed}",
            "image_url": f"{rt.config.public_url}/poster/{signed}.png"}


# --- public ----------------------------------------------------------------------------------------

def _signed(request: Request, signed: str) -> tuple[int, int, int] | None:
    return live.read_share_token(runtime_of(request).session_secret(), signed) if len(signed) <= 200 else None


@public_router.get("/poster/{signed}.png", response_class=Response, summary="A person's poster, by its signed address")
def public_poster(request: Request, signed: str) -> Response:
    found = _signed(request, signed)
    if found is None:
        return Response(status_code=404)
    try:
        png = live.poster_png(runtime_of(request), *found)
    except (PosterError, ProfileNotFound):
        return Response(status_code=404)
    return Response(png, media_type="image/png", headers=PNG_HEADERS)


@public_router.get("/poster/{signed}", response_class=HTMLResponse, summary="The share page: the person's poster")
def public_page(request: Request, signed: str) -> HTMLResponse:
    if _signed(request, signed) is None:
        return HTMLResponse("<!doctype html><meta charset=utf-8><p>海报不存在 · No such poster</p>", status_code=404)
    image = escape(f"/poster/{signed}.png")
    return HTMLResponse(f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>分享海报 · Share poster</title>
<style>body{{margin:0;background:#f6f7f9;text-align:center;font-family:system-ui,sans-serif}}
img{{width:100%;max-width:28rem;display:block;margin:0 auto}}p{{color:#646a73;font-size:.9rem}}</style></head>
<body><img id="poster" src="{image}" alt="海报 · Poster"><p>长按图片保存或分享 · Press and hold to save or share</p>
</body></html>""", headers={"Cache-Control": "no-store"})


@public_router.get("/s/{token}", summary="A person's share link: counts the visit, leads to the target with ref")
def follow(request: Request, token: str) -> Response:
    target = live.follow(runtime_of(request), token) if TOKEN.fullmatch(token) else None
    if target is None:
        return HTMLResponse("<!doctype html><meta charset=utf-8><p>链接无效 · Invalid link</p>", status_code=404)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
