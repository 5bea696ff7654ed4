"""``siyu codes``: create channel codes (渠道活码), list them, read their daily figures, push WeCom
routing, and write the QR as PNG, SVG or a printable card."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

codes_app = typer.Typer(help="Channel codes (渠道活码): official-account QR codes and WeCom contact ways.",
                        no_args_is_help=True)
app.add_typer(codes_app, name="codes")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CodeArgument = Annotated[int, typer.Argument(min=1, max=2**31 - 1, help="The code's id.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace(workspace: str) -> Any:
    from siyu.db.engine import read
    from siyu.workspaces import store

    with read(runtime().engine) as conn:
        return store.get_workspace(conn, workspace)


@codes_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption, kind: Annotated[str, typer.Argument(help="wechat_qr or wecom_contact.")],
           key: Annotated[str, typer.Argument(help="Scene string / state (1-30 letters, digits, _ -).")],
           name: Annotated[str, typer.Argument(help="The channel, e.g. 天猫包裹卡.")],
           caption: Annotated[str | None, typer.Option(help="Printed under the code on the card.")] = None,
           expire_days: Annotated[int | None, typer.Option(min=1, max=30, help="wechat_qr: temporary, days.")]
           = None,
           routing: Annotated[str | None, typer.Option(help="wecom_contact: routing rule as JSON.")] = None,
           welcome: Annotated[str | None, typer.Option(help="Welcome text.")] = None,
           tag: Annotated[list[str] | None, typer.Option(help="A tag to add (repeat).")] = None,
           journey: Annotated[int | None, typer.Option(help="A journey to enter (API-triggered, live).")] = None,
           as_json: JsonOption = False) -> None:
    """Create a code (calls WeChat or WeCom); the same key again returns it."""
    from siyu import clock
    from siyu.acquisition import channel_codes

    try:
        rule = json.loads(routing) if routing else None
    except ValueError as error:
        raise fail(f"--routing is not JSON: {error}") from None
    ws = _workspace(workspace)
    code, _ = channel_codes.create(runtime().engine, ws, kind=kind, key=key, name=name, caption=caption,
                                   expire_seconds=expire_days * 86400 if expire_days else None, routing=rule,
                                   welcome={"text": welcome} if welcome else None, tags=tag or None,
                                   journey_id=journey, expires_at=None, now=clock.now())
    _print(code) if as_json else out.print(f"code {code['id']} {code['key']} ({code['kind']}): {code['qr_url']}")


@codes_app.command("list")
@handles_errors
def list_codes(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Codes."""
    from siyu import clock
    from siyu.acquisition import channel_codes
    from siyu.acquisition import channel_codes_store as store
    from siyu.db.engine import read

    ws = _workspace(workspace)
    with read(runtime().engine) as conn:
        found = [channel_codes.describe(c, clock.now()) for c in store.list_codes(conn, ws.id)]
    if as_json:
        _print(found)
        return
    for code in found:
        out.print(f"{code['id']}\t{code['kind']}\t{code['key']}\t{code['name']}\t{code['status']}"
                  f"{' (expired)' if code['expired'] else ''}")


@codes_app.command("stats")
@handles_errors
def stats(workspace: WorkspaceOption, code: CodeArgument,
          days: Annotated[int, typer.Option(min=1, max=366, help="Days back from today.")] = 30,
          kept_after: Annotated[int, typer.Option(min=1, max=365, help="Follow-through after N days.")] = 7,
          as_json: JsonOption = False) -> None:
    """Per day: scans, follows, adds, new and returning people; follow-through."""
    from datetime import timedelta

    from siyu import clock
    from siyu.acquisition import channel_codes
    from siyu.acquisition import channel_codes_store as store
    from siyu.db.engine import read

    ws, now = _workspace(workspace), clock.now()
    with read(runtime().engine) as conn:
        store.get_code(conn, ws.id, code)
        since = channel_codes.local_day(now - timedelta(days=days - 1), ws.timezone)
        figures = store.daily_figures(conn, ws.id, code, since, channel_codes.local_day(now, ws.timezone))
        kept = store.follow_through(conn, ws.id, code, kept_after, now)
    if as_json:
        _print({"days": figures, "follow_through": kept})
        return
    for day in figures:
        out.print(f"{day['day']}\tscans {day['scans']}\tfollows {day['follows']}\tadds {day['adds']}\t"
                  f"new {day['new']}\treturning {day['returning']}")
    out.print(f"still there after {kept['days']} days: {kept['kept']} of {kept['arrived']}")


@codes_app.command("sync")
@handles_errors
def sync(workspace: WorkspaceOption) -> None:
    """Push every WeCom code's routing to WeCom where it changed."""
    from siyu import clock
    from siyu.acquisition import channel_codes

    out.print(f"pushed {channel_codes.sync_all(runtime().engine, _workspace(workspace), clock.now())}")


@codes_app.command("download")
@handles_errors
def download(workspace: WorkspaceOption, code: CodeArgument,
             path: Annotated[Path, typer.Argument(help="Where to write: .png, .svg, or any name with --card.")],
             card: Annotated[bool, typer.Option("--card", help="The printable card (PNG).")] = False) -> None:
    """Write an official-account code's QR as PNG or SVG (by the file's suffix), or its card."""
    from siyu.acquisition import channel_codes_store as store
    from siyu.acquisition import qr
    from siyu.db.engine import read

    ws = _workspace(workspace)
    with read(runtime().engine) as conn:
        found = store.get_code(conn, ws.id, code)
    if found["kind"] != "wechat_qr" or not found["qr_url"]:
        raise fail("Only a created official-account code can be drawn; a WeCom code's image is at its qr_url.")
    if card:
        data = qr.card(found["qr_url"], found["name"], found["caption"])
    elif path.suffix.lower() == ".svg":
        data = qr.svg(found["qr_url"])
    else:
        data = qr.png(found["qr_url"])
    path.write_bytes(data)
    out.print(f"wrote {path} ({len(data)} bytes)")
