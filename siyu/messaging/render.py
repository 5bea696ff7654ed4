"""Rendering a message's template for its person, with the profile as it is at send time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.template_models import MessageTemplate, RenderContext, RenderedMessage
from siyu.messaging.templates import preview, profile_context, render
from siyu.profiles.read_store import profile_detail
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Workspace


def _context(conn: Connection, workspace: Workspace, profile_id: int, unsubscribe_url: str | None) -> RenderContext:
    language = str((workspace.settings or {}).get("language") or "zh")
    return RenderContext(profile=profile_context(profile_detail(conn, workspace.id, profile_id)),
                         unsubscribe_url=unsubscribe_url, timezone=workspace.timezone, default_language=language,
                         now=clock.now())


def render_for(conn: Connection, workspace: Workspace, profile_id: int, channel: Channel, purpose: Purpose,
               template: dict[str, Any], unsubscribe_url: str | None = None) -> RenderedMessage:
    return render(MessageTemplate(channel, template, purpose), _context(conn, workspace, profile_id,
                                                                        unsubscribe_url))


def preview_for(conn: Connection, workspace_id: int, profile_id: int, channel: Channel, purpose: Purpose,
                template: dict[str, Any]) -> RenderedMessage:
    workspace = workspace_store.get_workspace(conn, workspace_id)
    return preview(MessageTemplate(channel, template, purpose), _context(conn, workspace, profile_id, None))
