"""``siyu campaigns``: fission campaigns from the command line — check rules (with compliance
findings), create from a JSON file, launch, end, list, show figures and rankings, run the worker step."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

campaigns_app = typer.Typer(help="Fission campaigns (裂变活动): referral, assist, group buy, bargain, split coupon, "
                                 "task unlock, leaderboard, check-in.", no_args_is_help=True)
app.add_typer(campaigns_app, name="campaigns")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
CampaignId = Annotated[int, typer.Argument(min=1, help="The campaign's id.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _workspace_id(workspace: str) -> int:
    from siyu.db.engine import read
    from siyu.workspaces import store as workspace_store

    with read(runtime().engine) as conn:
        return workspace_store.get_workspace(conn, workspace).id


def _load(path: Path) -> dict[str, Any]:
    from siyu.growth.errors import CampaignError

    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CampaignError(f"{path} is not a readable JSON file: {error}", code="campaigns.bad_file") from None
    if not isinstance(found, dict):
        raise CampaignError(f"{path} must hold one JSON object.", code="campaigns.bad_file")
    return found


def _check_reward_offers(rules: Any, workspace: str | None) -> None:
    """The API's check that the offers can carry what the rules make their rewards worth
    (:func:`siyu.growth.service.check_reward_offers`), against ``workspace``'s offers. Rules that name
    no such offer need no workspace; rules that do can't be passed without one."""
    from siyu.db.engine import read
    from siyu.growth import service
    from siyu.growth.errors import CampaignError
    from siyu.growth.reward_values import valued_offer_ids
    from siyu.workspaces import store as workspace_store

    named = valued_offer_ids(rules)
    if not named:
        return
    if workspace is None:
        offers = f"offer {named[0]}" if len(named) == 1 else f"offers {', '.join(map(str, named))}"
        raise CampaignError(f"The rules give {offers} a value of their own: pass --workspace to check "
                            "it against the workspace's offers, as the API does when the campaign is saved.",
                            code="campaigns.workspace_required", details={"offer_ids": named})
    with read(runtime().engine) as conn:
        service.check_reward_offers(conn, workspace_store.get_workspace(conn, workspace).id, rules)


@campaigns_app.command("validate")
@handles_errors
def validate(kind: Annotated[str, typer.Argument(help="referral, assist, group_buy, bargain, split_coupon, "
                                                      "task_unlock, leaderboard or check_in.")],
             rules_file: Annotated[Path, typer.Argument(help="The rules as JSON.")],
             workspace: Annotated[str | None, typer.Option(
                 "--workspace", "-w", help="Workspace id or name: check the offers the rules give a value "
                                           "(needed when they name one, as split coupons, bargains and group "
                                           "buys do).")] = None,
             as_json: JsonOption = False) -> None:
    """Check rules: problems and offers that can't carry their value (exit 2), compliance findings.

    With --workspace, also what the API checks when the campaign is saved: that each offer the rules
    give a value (a split coupon's shares, a bargain's cut, a group buy's saving) exists and can carry it."""
    from siyu.growth.compliance import check_rules
    from siyu.growth.errors import CampaignError
    from siyu.growth.models import CampaignKind
    from siyu.growth.rules import parse_rules

    if kind not in set(CampaignKind):
        raise CampaignError(f"KIND is one of {', '.join(CampaignKind)}.", code="campaigns.unknown_kind")
    rules = _load(rules_file)
    findings = [f.to_dict() for f in check_rules(kind, rules)]
    _check_reward_offers(parse_rules(CampaignKind(kind), rules), workspace)
    if as_json:
        _print({"valid": True, "findings": findings})
        return
    out.print("rules are valid" if not findings else "rules are valid; compliance findings:")
    for finding in findings:
        out.print(f"  {finding['severity']}\t{finding['code']}\t{finding['field'] or '-'}\t{finding['message_en']}")


@campaigns_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption,
           campaign_file: Annotated[Path, typer.Argument(help="JSON: kind, name, rules, operator {name, contact}, "
                                                            "starts_at, ends_at, budget_fen.")],
           launch: Annotated[bool, typer.Option("--launch", help="Launch it at once.")] = False,
           as_json: JsonOption = False) -> None:
    """Create a campaign (a draft unless --launch)."""
    from datetime import datetime

    from siyu import clock
    from siyu.db.engine import write
    from siyu.growth import service
    from siyu.growth.errors import CampaignError
    from siyu.growth.models import CampaignKind

    body = _load(campaign_file)
    try:
        draft = service.Draft(kind=CampaignKind(body["kind"]), name=str(body["name"]), rules=dict(body["rules"]),
                              operator=dict(body["operator"]), starts_at=datetime.fromisoformat(body["starts_at"]),
                              ends_at=datetime.fromisoformat(body["ends_at"]), budget_fen=body.get("budget_fen"))
    except (KeyError, ValueError, TypeError) as error:
        raise CampaignError(f"The campaign file lacks or mangles a field: {error}.",
                            code="campaigns.bad_file") from None
    workspace_id = _workspace_id(workspace)
    with write(runtime().engine) as conn:
        campaign = service.create_campaign(conn, workspace_id, draft, created_by="cli", now=clock.now())
        if launch:
            campaign = service.launch(conn, workspace_id, campaign.id, clock.now())
    _print(campaign.to_dict()) if as_json else out.print(f"campaign {campaign.id} ({campaign.status.value}) "
                                                         f"page /c/{campaign.token}")


def _transition(workspace: str, campaign_id: int, verb: str) -> None:
    from siyu import clock
    from siyu.db.engine import write
    from siyu.growth import service

    workspace_id = _workspace_id(workspace)
    with write(runtime().engine) as conn:
        campaign = getattr(service, verb)(conn, workspace_id, campaign_id, clock.now())
    out.print(f"campaign {campaign.id} is {campaign.status.value}")


@campaigns_app.command("launch")
@handles_errors
def launch(workspace: WorkspaceOption, campaign_id: CampaignId) -> None:
    """draft → live (refused while compliance finds errors)."""
    _transition(workspace, campaign_id, "launch")


@campaigns_app.command("end")
@handles_errors
def end(workspace: WorkspaceOption, campaign_id: CampaignId) -> None:
    """live → ended now (the worker hands out end-of-campaign prizes)."""
    _transition(workspace, campaign_id, "end")


@campaigns_app.command("list")
@handles_errors
def list_campaigns(workspace: WorkspaceOption,
                   status: Annotated[str | None, typer.Option(help="draft, live or ended.")] = None,
                   as_json: JsonOption = False) -> None:
    """Campaigns, newest first."""
    from siyu.db.engine import read
    from siyu.growth import store

    workspace_id = _workspace_id(workspace)
    with read(runtime().engine) as conn:
        found = store.list_campaigns(conn, workspace_id, status=status)
    if as_json:
        _print([c.to_dict() for c in found])
        return
    for c in found:
        out.print(f"{c.id}\t{c.kind.value}\t{c.status.value}\t{c.name}\t{c.starts_at:%Y-%m-%d} – {c.ends_at:%Y-%m-%d}")


@campaigns_app.command("measure")
@handles_errors
def measure(workspace: WorkspaceOption, campaign_id: CampaignId,
            retention: Annotated[bool, typer.Option("--retention/--no-retention",
                                                    help="Add 7- / 30-day retention against other channels.")] = True,
            as_json: JsonOption = False) -> None:
    """Participants, invites sent and accepted, K-factor, cost per new customer, retention."""
    from siyu import clock
    from siyu.growth.measurement import measure as figures

    found = figures(runtime(), _workspace_id(workspace), campaign_id, clock.now(), with_retention=retention)
    if as_json:
        _print(found)
        return
    for key, value in found.items():
        if key != "retention":
            out.print(f"{key}\t{value}")
    for group in found.get("retention", []):
        out.print(f"retention\t{group['group']}\t{group['people']} people\t7d {group['retention_7d']}"
                  f"\t30d {group['retention_30d']}")


@campaigns_app.command("leaderboard")
@handles_errors
def leaderboard(workspace: WorkspaceOption, campaign_id: CampaignId,
                limit: Annotated[int, typer.Option(min=1, max=500)] = 20, as_json: JsonOption = False) -> None:
    """The live ranking of recruiters."""
    from siyu.db.engine import read
    from siyu.growth import store
    from siyu.growth.settle import standings

    workspace_id = _workspace_id(workspace)
    with read(runtime().engine) as conn:
        store.get_campaign(conn, workspace_id, campaign_id)
        ranked = standings(conn, workspace_id, campaign_id, limit=limit)
    if as_json:
        _print([{"position": r.position, "profile_id": r.profile_id, "score": r.score} for r in ranked])
        return
    for r in ranked:
        out.print(f"{r.position}\tprofile {r.profile_id}\t{r.score}")


@campaigns_app.command("run-due")
@handles_errors
def run_due(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Qualify referrals, revoke credits, close groups and bargains, settle ended campaigns (the worker step)."""
    from siyu import clock
    from siyu.growth.worker import run_workspace

    done = run_workspace(runtime(), _workspace_id(workspace), clock.now())
    _print(done) if as_json else out.print(", ".join(f"{k} {v}" for k, v in done.items()))
