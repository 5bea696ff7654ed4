"""Rendering a message's template for its person, with the profile as it is at send time, and the
event that triggered the send (a journey's) kept on the outbox row until then."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu import clock
from siyu.messaging import store
from siyu.messaging.models import Channel, Message, Purpose
from siyu.messaging.template_models import MessageTemplate, PublicLinks, RenderContext, RenderedMessage
from siyu.messaging.templates import SIGNED_LINKS, preview, profile_context, render
from siyu.profiles import store as profile_store
from siyu.profiles.read_store import profile_detail, resolve_profile_id
from siyu.workspaces import store as workspace_store
from siyu.workspaces.models import Workspace

# The event a template reads as ``event`` (``name``, ``properties``, ``timestamp``, ``message_id``),
# kept in the payload of a templated message from its queueing to its rendering; the rendered
# payload no longer carries it, so no channel ever sees it.
EVENT_KEY = "$event"


def attach_event(conn: Connection, message: Message, event: dict[str, Any], now: datetime) -> None:
    """Keep ``event`` with a message just queued (in the queueing transaction), for its template to
    read when it is rendered at send time — however many steps after the trigger that is."""
    message.payload = {**message.payload, EVENT_KEY: event}
    store.update_message(conn, message, now, payload=message.payload)


def _context(conn: Connection, workspace: Workspace, profile_id: int, unsubscribe_url: str | None,
             event: dict[str, Any] | None = None, *, whole_profile: bool = True,
             public_links: PublicLinks | None = None, send_key: str | None = None) -> RenderContext:
    language = str((workspace.settings or {}).get("language") or "zh")
    if whole_profile:
        profile = profile_context(profile_detail(conn, workspace.id, profile_id))
    else:  # the template never names `profile`: only the traits, which choose the language variant
        profile = {"traits": profile_store.load_traits(conn, workspace.id, [profile_id]).get(profile_id, ({}, {}))[0]}
    return RenderContext(profile=profile, event=event, unsubscribe_url=unsubscribe_url, timezone=workspace.timezone,
                         default_language=language, now=clock.now(), public_links=public_links, send_key=send_key)


def mentions_profile(template: Any) -> bool:
    """Whether the template reads more of ``profile`` than its traits. Jinja (sandboxed) can only reach
    a variable by writing its name, so a template that names ``profile`` only as ``profile.traits``
    (or ``profile['traits']``) — the usual ``{{ profile.traits.name }}`` — or not at all needs no
    profile detail (six queries: most of a keyword reply's cost, and of a broadcast's render, when
    measured); the traits are read anyway, for the language. Any other use (``profile.tags``, a
    filter over ``profile``, a ``set`` of it) reads the whole profile."""
    if isinstance(template, str):
        return "profile" in template and _beyond_traits(template)
    if isinstance(template, dict):
        return any(mentions_profile(value) for value in template.values())
    if isinstance(template, list):
        return any(mentions_profile(value) for value in template)
    return False


def _beyond_traits(source: str) -> bool:
    from jinja2 import TemplateSyntaxError, nodes

    from siyu.messaging.template_sandbox import parsed

    try:
        tree = parsed(source)
    except TemplateSyntaxError:
        return True  # never rendered anyway; the whole profile is the safe answer
    uses = [n for n in tree.find_all(nodes.Name) if n.name == "profile"]
    if any(n.ctx != "load" for n in uses):
        return True
    traits = 0
    for found in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(found, "node", None)
        if not (isinstance(target, nodes.Name) and target.name == "profile"):
            continue
        if isinstance(found, nodes.Getattr):
            traits += found.attr == "traits"
        elif isinstance(found, nodes.Getitem):
            traits += isinstance(found.arg, nodes.Const) and found.arg.value == "traits"
    return traits != len(uses)


def _mentions(template: Any, words: tuple[str, ...]) -> bool:
    if isinstance(template, str):
        return any(word in template for word in words)
    if isinstance(template, dict):
        return any(_mentions(value, words) for value in template.values())
    if isinstance(template, list):
        return any(_mentions(value, words) for value in template)
    return False


def public_links_for(conn: Connection, workspace: Workspace, profile_id: int, template: Any,
                     signing: tuple[str, str] | None) -> PublicLinks | None:
    """What ``member_centre_link()`` / ``survey_link()`` sign with, when the template calls them and the
    sender gave ``signing`` = (``SIYU_PUBLIC_URL``, the server's secret): the programme's
    ``centre_link_days`` is read only for a template that links to the member centre."""
    if signing is None or not _mentions(template, SIGNED_LINKS):
        return None
    links = PublicLinks(public_url=signing[0], secret=signing[1], workspace_id=workspace.id, profile_id=profile_id)
    if _mentions(template, ("member_centre_link",)):
        from siyu.loyalty.member_centre_token import link_days

        links = replace(links, centre_link_days=link_days(conn, workspace.id))
    return links


def signing_of(runtime: Any) -> tuple[str, str] | None:
    """(public URL, secret) of a runtime, for :func:`render_for`'s signed links; None without one."""
    if runtime is None or not hasattr(runtime, "session_secret"):
        return None
    return runtime.config.public_url, runtime.session_secret()


def render_for(conn: Connection, workspace: Workspace, profile_id: int, channel: Channel, purpose: Purpose,
               template: dict[str, Any], unsubscribe_url: str | None = None,
               event: dict[str, Any] | None = None, signing: tuple[str, str] | None = None,
               send_key: str | None = None) -> RenderedMessage:
    """``signing`` = (public URL, secret) lets the template call ``member_centre_link()`` and
    ``survey_link(id)`` (:func:`signing_of` a runtime); without it they render empty. ``send_key``
    names the send (the outbox key the message is, or will be, queued under): ``survey_link(id)``
    signs it into the link, so each send asks anew and rendering one send again gives the same link."""
    context = _context(conn, workspace, profile_id, unsubscribe_url, event, whole_profile=mentions_profile(template),
                       public_links=public_links_for(conn, workspace, profile_id, template, signing),
                       send_key=send_key)
    return render(MessageTemplate(channel, template, purpose), context)


def preview_for(conn: Connection, workspace_id: int, profile_id: int, channel: Channel, purpose: Purpose,
                template: dict[str, Any], signing: tuple[str, str] | None = None) -> RenderedMessage:
    """The template as :func:`render_for` would render it for the person now, with warnings. With
    ``signing`` its ``member_centre_link()`` / ``survey_link(id)`` are the working links a send would
    carry, signed for the live profile (a merged-away id stands for its survivor, as when queued);
    without it they render empty and the preview warns. A preview is no send: its survey links carry
    the send key ``default``."""
    workspace = workspace_store.get_workspace(conn, workspace_id)
    profile_id = resolve_profile_id(conn, workspace_id, profile_id)
    links = public_links_for(conn, workspace, profile_id, template, signing)
    return preview(MessageTemplate(channel, template, purpose), _context(conn, workspace, profile_id, None,
                                                                         public_links=links))
