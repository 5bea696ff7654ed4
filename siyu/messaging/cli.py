"""``siyu messages``: queue a message to a person, read their message log, ask the contact policy,
and run one delivery round (what ``siyu worker`` does continuously)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

messages_app = typer.Typer(help="Messages: the outbox, contact policies and delivery.", no_args_is_help=True)
app.add_typer(messages_app, name="messages")

ProfileOption = Annotated[int, typer.Option("--profile", min=1, help="The person's profile id.")]
ChannelOption = Annotated[str, typer.Option("--channel", help="email or webhook (more channels to come).")]
PurposeOption = Annotated[str, typer.Option("--purpose", help="marketing or transactional.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _enums(channel: str, purpose: str) -> tuple[Any, Any]:
    from siyu.messaging.models import Channel, Purpose

    try:
        return Channel(channel), Purpose(purpose)
    except ValueError:
        raise fail(f"--channel must be one of {', '.join(c.value for c in Channel)}; "
                   f"--purpose marketing or transactional.") from None


@messages_app.command("send")
@handles_errors
def send(workspace: WorkspaceOption, profile: ProfileOption, channel: ChannelOption = "email",
         purpose: PurposeOption = "marketing",
         subject: Annotated[str | None, typer.Option(help="E-mail subject.")] = None,
         text: Annotated[str | None, typer.Option(help="E-mail text.")] = None,
         content: Annotated[str | None, typer.Option(help="The content as JSON (webhook body, or e-mail "
                                                     "{subject, text, html}).")] = None,
         key: Annotated[str | None, typer.Option(help="Idempotency key: the same key again sends nothing.")] = None,
         as_json: JsonOption = False) -> None:
    """Queue a message; the worker applies the contact policy and sends it."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.messaging import outbox
    from siyu.workspaces import store

    kind, why = _enums(channel, purpose)
    if content is not None:
        try:
            body = json.loads(content)
        except json.JSONDecodeError as error:
            raise fail(f"--content is not valid JSON: {error}") from None
    else:
        body = {k: v for k, v in (("subject", subject), ("text", text)) if v is not None}
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        message, created = outbox.queue(conn, ws.id, profile_id=profile, channel=kind, purpose=why, content=body,
                                        now=clock.now(), source="cli", key=key)
    if as_json:
        _print({"id": message.id, "status": message.status.value, "created": created})
        return
    out.print(f"message {message.id} {'queued' if created else 'already queued with this key'} "
              f"({message.status.value})")


@messages_app.command("list")
@handles_errors
def list_messages(workspace: WorkspaceOption, profile: ProfileOption, as_json: JsonOption = False) -> None:
    """A person's messages, newest first: what was sent, what was stopped and why."""
    from siyu.db.engine import read
    from siyu.messaging import store as message_store
    from siyu.profiles.read_store import resolve_profile_id
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        rows = message_store.of_profile(conn, ws.id, resolve_profile_id(conn, ws.id, profile))
    if as_json:
        _print([{"id": m.id, "channel": m.channel.value, "purpose": m.purpose.value, "status": m.status.value,
                 "reason": m.reason, "due_at": m.due_at, "sent_at": m.sent_at} for m in rows])
        return
    table = Table("id", "channel", "purpose", "status", "reason", "due", "sent")
    for m in rows:
        table.add_row(str(m.id), m.channel.value, m.purpose.value, m.status.value, m.reason or "",
                      f"{m.due_at:%Y-%m-%d %H:%M}", f"{m.sent_at:%Y-%m-%d %H:%M}" if m.sent_at else "")
    out.print(table)


@messages_app.command("check")
@handles_errors
def check(workspace: WorkspaceOption, profile: ProfileOption, channel: ChannelOption = "email",
          purpose: PurposeOption = "marketing", as_json: JsonOption = False) -> None:
    """What the contact policy would decide for this person now (nothing is queued)."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.messaging import outbox
    from siyu.workspaces import store

    kind, why = _enums(channel, purpose)
    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        verdict, address = outbox.check(conn, ws.id, profile_id=profile, channel=kind, purpose=why, now=clock.now())
    if as_json:
        _print({"action": verdict.action, "reason": verdict.reason, "detail": verdict.detail,
                "until": verdict.until, "address": address})
        return
    out.print(f"{verdict.action}{f' ({verdict.reason}: {verdict.detail})' if verdict.reason else ''}"
              f"{f' until {verdict.until:%Y-%m-%d %H:%M %Z}' if verdict.until else ''}")


@messages_app.command("deliver")
@handles_errors
def deliver(workspace: WorkspaceOption) -> None:
    """One delivery round for the workspace, exactly as the worker runs it (tracked links, open pixel,
    unsubscribe links from SIYU_PUBLIC_URL)."""
    from siyu.db.engine import read
    from siyu.messaging.delivery import deliver_round
    from siyu.workspaces import store

    rt = runtime()
    with read(rt.engine) as conn:
        ws = store.get_workspace(conn, workspace)
    report = deliver_round(rt, workspace_id=ws.id)
    out.print(f"sent {report.sent}, stopped {report.stopped}, deferred {report.deferred}, retried {report.retried}, "
              f"failed {report.failed}, uncertain {report.uncertain}"
              + (f"; reasons: {report.reasons}" if report.reasons else ""))


broadcasts_app = typer.Typer(help="Broadcasts (群发): one message to a segment, now or scheduled, throttled.",
                             no_args_is_help=True)
app.add_typer(broadcasts_app, name="broadcasts")


def _broadcast_line(found: dict[str, Any]) -> str:
    figures = ", ".join(f"{k} {v}" for k, v in sorted(found.get("figures", {}).items())) or "no messages yet"
    line = (f"broadcast {found['id']} 「{found['name']}」 {found['status']}: segment {found['segment_id']}, "
            f"{found['channel']}/{found['purpose']}, queued {found['queued']} — {figures}")
    measured = found.get("conversions")
    if measured:
        line += f"\n  goal {measured['goal']['event']} within {measured['goal']['within']}: " + "; ".join(
            f"{group} {measured[group]['converted']}/{measured[group]['people']} converted, revenue "
            f"{measured[group]['revenue']:g}" for group in ("treatment", "holdout"))
        if measured["lift"] is not None:
            line += f"; lift {measured['lift']:+.1%}"
    return line


@broadcasts_app.command("create")
@handles_errors
def broadcast_create(workspace: WorkspaceOption, name: Annotated[str, typer.Argument(help="A name for operators.")],
                     segment: Annotated[int, typer.Option("--segment", min=1, help="The segment's id.")],
                     content: Annotated[str | None, typer.Option(help="The content as JSON, sent as written.")] = None,
                     template: Annotated[str | None, typer.Option(
                         help="Instead of --content: a template as JSON ({{ profile.traits.name }}), filled in "
                              "for each member when sent; a webhook's under \"body\".")] = None,
                     channel: ChannelOption = "email", purpose: PurposeOption = "marketing",
                     send_at: Annotated[str | None, typer.Option(help="ISO time; default now.")] = None,
                     rate: Annotated[int | None, typer.Option(min=1, help="Messages per minute.")] = None,
                     track_links: Annotated[bool, typer.Option(help="Track link clicks and opens.")] = True,
                     goal_event: Annotated[str | None, typer.Option(
                         help="The event that counts as a conversion, e.g. \"Order Completed\".")] = None,
                     goal_within: Annotated[str, typer.Option(help="The conversion window after each message.")] = "7d",
                     holdout: Annotated[float, typer.Option(
                         min=0, max=50, help="Percent of members kept back as a control group (needs --goal-event)."
                     )] = 0,
                     as_json: JsonOption = False) -> None:
    """Schedule a broadcast; the worker fans it out and delivers it under the contact policies."""
    from datetime import datetime

    from siyu import clock
    from siyu.db.engine import write
    from siyu.messaging import broadcasts
    from siyu.workspaces import store

    kind, why = _enums(channel, purpose)
    if (content is None) == (template is None):
        raise fail("Give either --content (sent as written) or --template (filled in for each member).")
    try:
        body = json.loads(content if content is not None else template or "")
        when = datetime.fromisoformat(send_at) if send_at else None
    except ValueError as error:
        raise fail(f"--content / --template must be JSON and --send-at an ISO time: {error}") from None
    if when is not None and when.tzinfo is None:
        raise fail("--send-at needs a time zone, e.g. 2026-11-11T20:00:00+08:00.")
    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        found = broadcasts.create(conn, ws.id, name=name, segment_id=segment, channel=kind, purpose=why,
                                  content=body if content is not None else None,
                                  template=body if template is not None else None, track_links=track_links,
                                  goal={"event": goal_event, "within": goal_within} if goal_event else None,
                                  holdout_percent=holdout,
                                  send_at=when, rate_per_minute=rate, created_by="cli", now=clock.now())
    if as_json:
        _print(found)
    else:
        out.print(_broadcast_line(found))


@broadcasts_app.command("list")
@handles_errors
def broadcast_list(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Broadcasts, newest first, with their figures."""
    from siyu.db.engine import read
    from siyu.messaging import broadcast_store, broadcasts
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        found = [broadcasts.describe(conn, ws.id, b["id"]) for b in broadcast_store.listing(conn, ws.id)]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(_broadcast_line(item))


@broadcasts_app.command("cancel")
@handles_errors
def broadcast_cancel(workspace: WorkspaceOption, broadcast: Annotated[int, typer.Argument(min=1)]) -> None:
    """Cancel a broadcast: its messages not yet claimed are stopped."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.messaging import broadcasts
    from siyu.workspaces import store

    with write(runtime().engine) as conn:
        ws = store.get_workspace(conn, workspace)
        out.print(_broadcast_line(broadcasts.cancel(conn, ws.id, broadcast, clock.now())))
