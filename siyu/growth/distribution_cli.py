"""``siyu promoters`` and ``siyu commissions``: staff / KOC promoters and their links, the commission
plan (two levels at most), the ledger, its exports and payouts."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, fail, handles_errors, out, runtime

promoters_app = typer.Typer(help="Promoters (分销员): staff and KOC customers with personal links.",
                            no_args_is_help=True)
commissions_app = typer.Typer(help="Commissions (佣金): the plan, the ledger, exports and payouts.",
                              no_args_is_help=True)
app.add_typer(promoters_app, name="promoters")
app.add_typer(commissions_app, name="commissions")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
PromoterArgument = Annotated[int, typer.Argument(min=1, help="The promoter's id.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace_id(conn: Any, workspace: str) -> int:
    from siyu.workspaces import store

    return store.get_workspace(conn, workspace).id


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def _show(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print(found)
        return
    sums = found["balances"]
    out.print(f"{found['id']}\t{found['kind']}\t{found['name']}\tparent {found['parent_id'] or '-'}\t{found['status']}"
              f"\ttouches {found['touches']}\torders {sums['orders']}\tpending {_yuan(sums['pending'])}"
              f"\tconfirmed {_yuan(sums['confirmed'])}\tpaid {_yuan(sums['paid'])}\t{found['link_url']}")


@promoters_app.command("add")
@handles_errors
def add(workspace: WorkspaceOption,
        staff_id: Annotated[int | None, typer.Option(min=1, help="A staff member (全员营销).")] = None,
        profile_id: Annotated[int | None, typer.Option(min=1, help="A KOC customer.")] = None,
        name: Annotated[str | None, typer.Option(help="Defaults to the staff or customer name.")] = None,
        parent_id: Annotated[int | None, typer.Option(min=1, help="Earns the level-2 rate.")] = None,
        landing_url: Annotated[str | None, typer.Option(help="Where the link leads; else the personal page.")] = None,
        as_json: JsonOption = False) -> None:
    """Make a staff member (--staff-id) or a KOC customer (--profile-id) a promoter."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.growth.distribution_promoters import create_promoter
    from siyu.growth.distribution_summary import summary

    if (staff_id is None) == (profile_id is None):
        raise fail("Give --staff-id for a staff promoter, or --profile-id for a KOC.")
    rt = runtime()
    with write(rt.engine) as conn:
        ws = _workspace_id(conn, workspace)
        made = create_promoter(conn, ws, kind="staff" if staff_id else "koc", now=clock.now(), staff_id=staff_id,
                               profile_id=profile_id, name=name, parent_id=parent_id, landing_url=landing_url)
        _show(summary(conn, ws, made.id, rt.config.public_url), as_json)


@promoters_app.command("list")
@handles_errors
def list_promoters(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Promoters with their touches, orders and commission by status (yuan)."""
    from siyu.db.engine import read
    from siyu.growth import distribution_store as store
    from siyu.growth.distribution_summary import summaries

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace_id(conn, workspace)
        found = summaries(conn, ws, store.list_promoters(conn, ws), rt.config.public_url)
    if as_json:
        _print(found)
        return
    for item in found:
        _show(item, False)


@promoters_app.command("set")
@handles_errors
def change(workspace: WorkspaceOption, promoter_id: PromoterArgument,
           parent_id: Annotated[int | None, typer.Option(min=1, help="A new parent (two levels at most).")] = None,
           no_parent: Annotated[bool, typer.Option("--no-parent", help="Remove the parent.")] = False,
           name: Annotated[str | None, typer.Option()] = None,
           landing_url: Annotated[str | None, typer.Option()] = None,
           status: Annotated[str | None, typer.Option(help="active or disabled.")] = None,
           as_json: JsonOption = False) -> None:
    """Change a promoter: parent, name, landing URL, status."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.growth.distribution_promoters import change_promoter
    from siyu.growth.distribution_summary import summary

    if status is not None and status not in ("active", "disabled"):
        raise fail("--status is active or disabled.")
    values: dict[str, Any] = {k: v for k, v in (("name", name), ("landing_url", landing_url), ("status", status))
                              if v is not None}
    if parent_id is not None or no_parent:
        values["parent_id"] = None if no_parent else parent_id
    rt = runtime()
    with write(rt.engine) as conn:
        ws = _workspace_id(conn, workspace)
        change_promoter(conn, ws, promoter_id, clock.now(), **values)
        _show(summary(conn, ws, promoter_id, rt.config.public_url), as_json)


@commissions_app.command("plan")
@handles_errors
def plan(workspace: WorkspaceOption,
         set_from: Annotated[Path | None, typer.Option("--set", exists=True, dir_okay=False,
                                                       help="A JSON file with the new plan.")] = None) -> None:
    """Print the commission plan, or save a new one from a JSON file (--set)."""
    from siyu import clock
    from siyu.db.engine import read, write
    from siyu.growth import distribution_store as store
    from siyu.growth.distribution_ledger import plan_of
    from siyu.growth.distribution_rules import parse_plan

    rt = runtime()
    if set_from is None:
        with read(rt.engine) as conn:
            _print(plan_of(conn, _workspace_id(conn, workspace)).to_dict())
        return
    try:
        document = json.loads(set_from.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise fail(f"{set_from} is not JSON: {error}") from None
    parsed = parse_plan(document)  # distribution.too_many_levels for a third level
    with write(rt.engine) as conn:
        version = store.save_plan(conn, _workspace_id(conn, workspace), parsed.to_dict(), clock.now())
    _print({**parsed.to_dict(), "version": version})


@commissions_app.command("list")
@handles_errors
def list_commissions(workspace: WorkspaceOption, promoter_id: Annotated[int | None, typer.Option(min=1)] = None,
                     status: Annotated[str | None, typer.Option(help="pending, confirmed, paid or reversed.")] = None,
                     limit: Annotated[int, typer.Option(min=1, max=500)] = 100, as_json: JsonOption = False) -> None:
    """Ledger rows, newest first."""
    from siyu.db.engine import read
    from siyu.growth import distribution_store as store
    from siyu.growth.distribution_models import CommissionStatus

    if status is not None and status not in set(CommissionStatus):
        raise fail(f"--status is one of {', '.join(CommissionStatus)}.")
    with read(runtime().engine) as conn:
        found = [c.to_dict() for c in store.list_commissions(conn, _workspace_id(conn, workspace),
                                                             promoter_id=promoter_id, status=status, limit=limit)]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"{item['id']}\t{item['order_id']}\tpromoter {item['promoter_id']}\tlevel {item['level']}"
                  f"\t{item['kind']}\t{item['status']}\t{_yuan(item['amount_fen'])}")


@commissions_app.command("export")
@handles_errors
def export_ledger(workspace: WorkspaceOption,
                  output: Annotated[Path, typer.Argument(help="The file to write (.csv or .xlsx).")],
                  promoter_id: Annotated[int | None, typer.Option(min=1)] = None,
                  since: Annotated[str | None, typer.Option(help="First local day, YYYY-MM-DD.")] = None,
                  until: Annotated[str | None, typer.Option(help="Last local day, YYYY-MM-DD.")] = None) -> None:
    """Write the ledger (per period / promoter) as CSV or XLSX, by the file's extension."""
    from siyu.db.engine import read
    from siyu.growth.distribution_export import ExportFormat
    from siyu.growth.distribution_summary import ledger_file
    from siyu.workspaces import store as workspace_store

    suffix = output.suffix.lower().lstrip(".")
    if suffix not in set(ExportFormat):
        raise fail("The output file ends in .csv or .xlsx.")
    try:
        first, last = (date.fromisoformat(v) if v else None for v in (since, until))
    except ValueError:
        raise fail("--since and --until are dates, YYYY-MM-DD.") from None
    with read(runtime().engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
        body = ledger_file(conn, ws.id, ExportFormat(suffix), timezone=ws.timezone, promoter_id=promoter_id,
                           since=first, until=last)
    output.write_bytes(body)
    out.print(f"wrote {output} ({len(body)} bytes)")


@commissions_app.command("pay")
@handles_errors
def pay_confirmed(workspace: WorkspaceOption,
                  key: Annotated[str, typer.Option(help="Idempotency key: the same key pays once, e.g. 2026-11.")],
                  promoter_id: Annotated[int | None, typer.Option(min=1, help="One promoter; all if omitted.")] = None,
                  as_json: JsonOption = False) -> None:
    """A payout batch: every confirmed commission marked paid (the same --key again pays nothing more)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.growth.distribution_ledger import pay

    with write(runtime().engine) as conn:
        payout, created = pay(conn, _workspace_id(conn, workspace), key=key, now=clock.now(), promoter_id=promoter_id)
    if as_json:
        _print({**payout, "created": created})
        return
    out.print(f"payout {payout['id']}: {payout['entries']} rows, {_yuan(payout['total_fen'])} yuan"
              + ("" if created else " (already made with this key)"))


@commissions_app.command("process")
@handles_errors
def process(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Attribute new orders, reverse refunds and confirm due commissions (what `siyu worker` does)."""
    from siyu.db.engine import read
    from siyu.growth.distribution_worker import process_workspace

    rt = runtime()
    with read(rt.engine) as conn:
        ws = _workspace_id(conn, workspace)
    done = process_workspace(rt.engine, ws)
    _print(done) if as_json else out.print(", ".join(f"{k} {v}" for k, v in sorted(done.items())))
