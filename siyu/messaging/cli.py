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
    """One delivery round for the workspace (the worker does this continuously)."""
    from siyu.db.engine import read
    from siyu.messaging.delivery import deliver_due
    from siyu.workspaces import store

    rt = runtime()
    with read(rt.engine) as conn:
        ws = store.get_workspace(conn, workspace)
    report = deliver_due(rt.engine, workspace_id=ws.id)
    out.print(f"sent {report.sent}, stopped {report.stopped}, deferred {report.deferred}, retried {report.retried}, "
              f"failed {report.failed}, uncertain {report.uncertain}"
              + (f"; reasons: {report.reasons}" if report.reasons else ""))
