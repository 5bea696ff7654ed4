"""``siyu rewards``: the cash-reward ledger, and the send round the worker runs."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

rewards_app = typer.Typer(help="Cash rewards (红包): the ledger and its send round.", no_args_is_help=True)
app.add_typer(rewards_app, name="rewards")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


@rewards_app.command("list")
@handles_errors
def list_rewards(workspace: WorkspaceOption,
                 status: Annotated[str | None, typer.Option(
                     help="decided, sending, sent, failed, uncertain or refused.")] = None,
                 profile_id: Annotated[int | None, typer.Option(min=1, help="One person's rewards.")] = None,
                 reason: Annotated[str | None, typer.Option(help="e.g. channel_code:3")] = None,
                 limit: Annotated[int, typer.Option(min=1, max=500)] = 100, as_json: JsonOption = False) -> None:
    """Rewards, newest first."""
    from siyu.db.engine import read
    from siyu.payments import store
    from siyu.payments.errors import PaymentsError
    from siyu.payments.models import RewardStatus
    from siyu.workspaces import store as workspace_store

    if status is not None and status not in set(RewardStatus):
        raise PaymentsError(f"--status is one of {', '.join(RewardStatus)}.")
    with read(runtime().engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
        found = [r.to_dict() for r in store.list_rewards(conn, ws.id, status=status, profile_id=profile_id,
                                                         reason=reason, limit=limit)]
    if as_json:
        _print(found)
        return
    for item in found:
        out.print(f"{item['id']}\t{item['status']}\tprofile {item['profile_id']}\t{item['amount_fen'] / 100:.2f} yuan"
                  f"\t{item['reason']}\t{item['bill_no'] or '-'}\t{item['error_code'] or ''}")


@rewards_app.command("send-due")
@handles_errors
def send_due_now(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Send due rewards and query uncertain ones (what `siyu worker` does every pass)."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.payments.ledger import send_due
    from siyu.workspaces import store as workspace_store

    rt = runtime()
    with read(rt.engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
    done = send_due(rt.engine, ws, now=clock.now())
    _print(done) if as_json else out.print(", ".join(f"{k} {v}" for k, v in sorted(done.items())) or "nothing due")
