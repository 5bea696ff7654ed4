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
RewardOption = Annotated[int | None, typer.Option(
    "--reward", help="A WeChat Pay red packet per new arrival, in fen (100-20000 = 1-200 yuan).")]
WishingOption = Annotated[str | None, typer.Option("--reward-wishing", help="The red packet's wishing (祝福语).")]
BudgetOption = Annotated[int | None, typer.Option("--reward-budget", min=0,
                                                  help="What the code's rewards may spend in all, in fen.")]


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
           reward: RewardOption = None, reward_wishing: WishingOption = None, reward_budget: BudgetOption = None,
           as_json: JsonOption = False) -> None:
    """Create a code (calls WeChat or WeCom); the same key again returns it."""
    from siyu import clock
    from siyu.acquisition import channel_codes
    from siyu.acquisition.channel_codes_edit import merge_reward

    if reward is None and (reward_wishing is not None or reward_budget is not None):
        raise fail("--reward-wishing and --reward-budget go with --reward (the amount in fen).")
    ws = _workspace(workspace)
    code, _ = channel_codes.create(runtime().engine, ws, kind=kind, key=key, name=name, caption=caption,
                                   expire_seconds=expire_days * 86400 if expire_days else None,
                                   routing=_routing(routing), welcome={"text": welcome} if welcome else None,
                                   tags=tag or None, journey_id=journey, expires_at=None, now=clock.now(),
                                   reward=merge_reward(None, cash_fen=reward, wishing=reward_wishing,
                                                       budget_fen=reward_budget))
    _print(code) if as_json else out.print(f"code {code['id']} {code['key']} ({code['kind']}): {code['qr_url']}")


def _routing(routing: str | None) -> Any:
    try:
        return json.loads(routing) if routing else None
    except ValueError as error:
        raise fail(f"--routing is not JSON: {error}") from None


@codes_app.command("update")
@handles_errors
def update(workspace: WorkspaceOption, code: CodeArgument,
           name: Annotated[str | None, typer.Option(help="The channel's name.")] = None,
           caption: Annotated[str | None, typer.Option(help="Printed under the code; '' removes it.")] = None,
           routing: Annotated[str | None, typer.Option(help="wecom_contact: routing rule as JSON.")] = None,
           welcome: Annotated[str | None, typer.Option(help="Welcome text; '' removes it.")] = None,
           tag: Annotated[list[str] | None, typer.Option(help="Replace the tags (repeat).")] = None,
           journey: Annotated[int | None, typer.Option(min=0, help="A journey to enter; 0 removes it.")] = None,
           status: Annotated[str | None, typer.Option(help="active or archived.")] = None,
           reward: RewardOption = None, reward_wishing: WishingOption = None, reward_budget: BudgetOption = None,
           no_reward: Annotated[bool, typer.Option("--no-reward", help="Remove the cash reward.")] = False,
           as_json: JsonOption = False) -> None:
    """Change a code; new routing is pushed to WeCom at once. Reward options change only what they name."""
    from siyu import clock
    from siyu.acquisition import channel_codes_edit
    from siyu.acquisition import channel_codes_store as store
    from siyu.db.engine import read

    ws = _workspace(workspace)
    changes: dict[str, Any] = {k: v for k, v in (("name", name), ("routing", _routing(routing)), ("tags", tag),
                                                ("journey_id", journey), ("status", status)) if v is not None}
    if caption is not None:
        changes["caption"] = caption or None
    if welcome is not None:
        changes["welcome"] = {"text": welcome} if welcome else None
    if no_reward:
        if reward is not None or reward_wishing is not None or reward_budget is not None:
            raise fail("--no-reward removes the reward: give it without the other --reward options.")
        changes["reward"] = None
    elif reward is not None or reward_wishing is not None or reward_budget is not None:
        with read(runtime().engine) as conn:
            current = store.get_code(conn, ws.id, code)["reward"]
        if current is None and reward is None:
            raise fail(f"Code {code} has no reward yet: give its amount with --reward.")
        changes["reward"] = channel_codes_edit.merge_reward(current, cash_fen=reward, wishing=reward_wishing,
                                                            budget_fen=reward_budget)
    if not changes:
        raise fail("Nothing to change: name an option (see --help).")
    found = channel_codes_edit.edit(runtime().engine, ws, code, changes, clock.now())
    if as_json:
        _print(found)
        return
    cash = found["reward"]["cash_fen"] if found["reward"] else None
    out.print(f"code {found['id']} {found['key']}: {found['status']}"
              + (f", reward {cash} fen" if cash is not None else ", no reward"))


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
