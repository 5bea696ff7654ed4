"""``siyu reviews``: the anti-fraud review queue from the command line — list, show, approve, reject."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

reviews_app = typer.Typer(help="Anti-fraud review queue (风控审核): held invites and helps.", no_args_is_help=True)
app.add_typer(reviews_app, name="reviews")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
STATUSES = ("pending", "approved", "rejected", "none", "all")


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _line(item: dict[str, Any]) -> str:
    reasons = ", ".join(r["code"] for r in item["reasons"]) or "-"
    return (f"{item['id']}\t{item['review_status']}\t{item['verdict']} {item['risk_score']}\tcampaign "
            f"{item['campaign_id']}\t{item['subject_kind']}:{item['subject_id']}\t{item['inviter_profile_id']} → "
            f"{item['invitee_profile_id']}\t{reasons}")


@reviews_app.command("list")
@handles_errors
def list_reviews(workspace: WorkspaceOption,
                 status: Annotated[str, typer.Option(help="pending, approved, rejected, none or all.")] = "pending",
                 campaign_id: Annotated[int | None, typer.Option(min=1, help="One campaign's decisions.")] = None,
                 limit: Annotated[int, typer.Option(min=1, max=500)] = 100, as_json: JsonOption = False) -> None:
    """Anti-fraud decisions, newest first (default: those waiting for an operator)."""
    from siyu.db.engine import read
    from siyu.growth import fraud_store
    from siyu.workspaces import store as workspace_store

    if status not in STATUSES:
        raise fraud_store.FraudError(f"--status is one of {', '.join(STATUSES)}.")
    wanted = None if status == "all" else fraud_store.ReviewStatus(status)
    with read(runtime().engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
        found = [d.to_dict() for d in fraud_store.review_queue(conn, ws.id, status=wanted, campaign_id=campaign_id,
                                                               limit=limit)]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(_line(item), highlight=False)


@reviews_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption, decision_id: Annotated[int, typer.Argument(min=1)],
         as_json: JsonOption = False) -> None:
    """One decision: its reasons and the facts it was made on."""
    from siyu.db.engine import read
    from siyu.growth import fraud_store
    from siyu.workspaces import store as workspace_store

    with read(runtime().engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
        item = fraud_store.get_decision(conn, ws.id, decision_id).to_dict()
    if as_json:
        _print(item)
        return
    out.print(_line(item), highlight=False)
    for reason in item["reasons"]:
        out.print(f"  {reason['code']} (+{reason['weight']}): {reason['detail']}", highlight=False)


def _resolve(workspace: str, decision_id: int, action: str, note: str | None, operator: str, as_json: bool) -> None:
    from siyu import clock
    from siyu.db.engine import write
    from siyu.growth import fraud_store
    from siyu.workspaces import store as workspace_store

    with write(runtime().engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
        decision, changed = fraud_store.resolve_review(conn, ws.id, decision_id, verdict=action, operator=operator,
                                                       note=note, now=clock.now())
    if as_json:
        _print({**decision.to_dict(), "changed": changed})
        return
    out.print(f"{decision.id}\t{decision.review_status.value}\t{'done' if changed else 'already done'}",
              highlight=False)


NoteOption = Annotated[str | None, typer.Option(help="Why (kept with the decision).")]
OperatorOption = Annotated[str, typer.Option(help="Who decides (written into the decision).")]


@reviews_app.command("approve")
@handles_errors
def approve(workspace: WorkspaceOption, decision_id: Annotated[int, typer.Argument(min=1)], note: NoteOption = None,
            operator: OperatorOption = "cli", as_json: JsonOption = False) -> None:
    """Approve a held decision: the credit or reward goes ahead. Repeating it changes nothing."""
    _resolve(workspace, decision_id, "approve", note, operator, as_json)


@reviews_app.command("reject")
@handles_errors
def reject(workspace: WorkspaceOption, decision_id: Annotated[int, typer.Argument(min=1)], note: NoteOption = None,
           operator: OperatorOption = "cli", as_json: JsonOption = False) -> None:
    """Reject a held decision: the credit or reward is refused. Repeating it changes nothing."""
    _resolve(workspace, decision_id, "reject", note, operator, as_json)
