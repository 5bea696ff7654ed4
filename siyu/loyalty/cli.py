"""``siyu tiers`` (the programme and ladder, members, the nightly evaluation) and ``siyu points``
(a member's ledger, adjustments, redemption). Thin: parse, call loyalty, print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, runtime

tiers_app = typer.Typer(help="Tiers (会员等级): the programme, its ladder, members and the nightly evaluation.",
                        no_args_is_help=True)
points_app = typer.Typer(help="Points (积分): a member's ledger, adjustments and redemption for offers.",
                         no_args_is_help=True)
app.add_typer(tiers_app, name="tiers")
app.add_typer(points_app, name="points")
loyalty_app = typer.Typer(help="Loyalty (会员): member-centre links and growth tasks.", no_args_is_help=True)
app.add_typer(loyalty_app, name="loyalty")

KeyOption = Annotated[str, typer.Option("--key", help="Idempotency key: the same key again changes nothing.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace(conn: Any, workspace: str) -> Any:
    from siyu.workspaces import store as workspace_store

    return workspace_store.get_workspace(conn, workspace)


@tiers_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption) -> None:
    """Print the programme (ladder, weights, rules, expiry, catalogue) and members per tier as JSON."""
    from siyu.db.engine import read
    from siyu.loyalty import store

    with read(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        programme, period_start, period_index = store.get_programme(conn, ws.id)
        counts = store.tier_counts(conn, ws.id)
    _print({**programme.model_dump(), "period_start": period_start, "period_index": period_index,
            "members_by_tier": [counts.get(rank, 0) for rank in range(len(programme.tiers))]})


@tiers_app.command("set")
@handles_errors
def set_programme(workspace: WorkspaceOption,
                  file: Annotated[Path, typer.Argument(help="A JSON file: {tiers: [...], weights, earning, expiry, "
                                                            "evaluation_days, grace_days, catalogue}.")],
                  ) -> None:
    """Set the workspace's programme from a JSON file (see docs/loyalty.md for the fields)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.loyalty import service
    from siyu.loyalty.errors import LoyaltyError

    try:
        values = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LoyaltyError(f"Cannot read {file}: {error}") from None
    if not isinstance(values, dict):
        raise LoyaltyError("The programme file holds one JSON object.")
    with write(runtime().engine) as conn:
        programme = service.set_programme(conn, _workspace(conn, workspace).id, values, now=clock.now())
    _print(programme.model_dump())


@tiers_app.command("member")
@handles_errors
def member(workspace: WorkspaceOption, profile_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """A member's tier, progress, tier history, points entries and lots, as JSON."""
    from siyu.db.engine import read
    from siyu.loyalty import service

    with read(runtime().engine) as conn:
        _print(service.member_view(conn, _workspace(conn, workspace).id, profile_id))


@tiers_app.command("run")
@handles_errors
def run(workspace: WorkspaceOption) -> None:
    """Follow the event log now, then run today's nightly evaluation if it has not run yet."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.loyalty import store, worker

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace(conn, workspace)
        store.get_programme(conn, ws.id)
    now = clock.now()
    followed = worker.follow_log(rt.engine, ws.id, ws.timezone, now)
    nightly = worker.run_nightly_if_due(rt.engine, ws.id, ws.timezone, now)
    _print({"events": followed, "nightly": None if nightly is None else nightly.__dict__})


@points_app.command("history")
@handles_errors
def history(workspace: WorkspaceOption, profile_id: Annotated[int, typer.Argument(min=1)],
            limit: Annotated[int, typer.Option(min=1, max=500)] = 50) -> None:
    """A member's ledger entries, newest first, one JSON object a line."""
    from siyu.db.engine import read
    from siyu.loyalty import points_store

    with read(runtime().engine) as conn:
        for entry in points_store.list_entries(conn, _workspace(conn, workspace).id, profile_id, limit=limit):
            _print(entry.to_dict())


@points_app.command("adjust")
@handles_errors
def adjust(workspace: WorkspaceOption, profile_id: Annotated[int, typer.Argument(min=1)],
           amount: Annotated[int, typer.Argument(help="Points: positive credits a lot, negative spends.")],
           key: KeyOption, note: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "manual") -> None:
    """Credit or debit a member's points by hand."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.loyalty import points, store
    from siyu.loyalty.errors import LoyaltyError

    if amount == 0:
        raise LoyaltyError("The amount must not be 0.")
    from siyu.profiles.read_store import resolve_profile_id

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        programme, _, _ = store.get_programme(conn, ws.id)
        profile_id = resolve_profile_id(conn, ws.id, profile_id)  # not found: exit 2
        entry = points.adjust(conn, ws.id, profile_id, amount, key=key, note=note, now=clock.now(),
                              expiry=programme.expiry, timezone=ws.timezone)
    _print(entry.to_dict())


@points_app.command("redeem")
@handles_errors
def redeem(workspace: WorkspaceOption, profile_id: Annotated[int, typer.Argument(min=1)],
           offer_id: Annotated[int, typer.Argument(min=1, help="An offer in the programme's catalogue.")],
           key: KeyOption) -> None:
    """Spend a catalogue offer's price in points and claim it (refused claim: nothing spent)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.loyalty import points, store
    from siyu.profiles.read_store import resolve_profile_id

    with write(runtime().engine) as conn:
        ws = _workspace(conn, workspace)
        programme, _, _ = store.get_programme(conn, ws.id)
        profile_id = resolve_profile_id(conn, ws.id, profile_id)
        entry, claim = points.redeem(conn, ws.id, programme, profile_id, offer_id, key=key, now=clock.now())
    _print({"entry": entry.to_dict(), "claim": claim.to_dict()})


@loyalty_app.command("link")
@handles_errors
def link(workspace: WorkspaceOption, profile_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Print a signed link to the person's member centre (/m/...); it works for the programme's
    centre_link_days (30 by default)."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.loyalty.member_centre_token import issue_link

    rt = runtime()
    with read(rt.engine) as conn:
        found = issue_link(conn, rt.config.public_url, rt.session_secret(), _workspace(conn, workspace).id,
                           profile_id, clock.now())
    sys.stdout.write(f"{found['url']}\n")


from siyu.loyalty.tasks_cli import tasks_app  # noqa: E402 - growth tasks: `siyu loyalty tasks`

loyalty_app.add_typer(tasks_app, name="tasks")
