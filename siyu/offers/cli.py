"""``siyu offers``: coupon and reward templates, their codes and budgets; claim, redeem, void, expire
and export from scripts. Thin: parse, call :mod:`siyu.offers.service`, print."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from siyu.cli import WorkspaceOption, app, handles_errors, out, runtime

offers_app = typer.Typer(help="Offers (券与奖励): coupons, points, red packets and gifts; claims and codes.",
                         no_args_is_help=True)
app.add_typer(offers_app, name="offers")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
KeyOption = Annotated[str, typer.Option("--key", help="Idempotency key: the same key again changes nothing.")]


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")


def _when(value: str | None, option: str) -> datetime | None:
    from siyu.offers.errors import OffersError

    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise OffersError(f"{option} is an ISO date-time, e.g. 2026-12-31T23:59:59+08:00.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _workspace_id(conn: Any, workspace: str) -> int:
    from siyu.workspaces import store as workspace_store

    return workspace_store.get_workspace(conn, workspace).id


@offers_app.command("create")
@handles_errors
def create(workspace: WorkspaceOption,
           name: Annotated[str, typer.Option(help="The offer's name, shown to customers.")],
           kind: Annotated[str, typer.Option(help="fixed_amount, percentage, threshold, free_gift, points, "
                                                  "red_packet or physical_gift.")],
           stock: Annotated[int, typer.Option(min=0, help="Total units.")],
           per_person_limit: Annotated[int, typer.Option(min=1, help="Units one person may claim.")] = 1,
           amount_fen: Annotated[int | None, typer.Option(help="Amount off / red packet amount, in fen.")] = None,
           percent_off: Annotated[int | None, typer.Option(help="percentage: % off (1-99).")] = None,
           threshold_fen: Annotated[int | None, typer.Option(help="threshold: the least order, in fen.")] = None,
           points: Annotated[int | None, typer.Option(help="points: points given per claim.")] = None,
           gift_name: Annotated[str | None, typer.Option(help="free_gift / physical_gift: the gift.")] = None,
           valid_days: Annotated[int | None, typer.Option(help="Valid for N days from the claim.")] = None,
           valid_from: Annotated[str | None, typer.Option(help="Absolute validity start (ISO).")] = None,
           valid_until: Annotated[str | None, typer.Option(help="Absolute validity end (ISO).")] = None,
           channel: Annotated[list[str] | None, typer.Option(help="Redeemable only in this channel (repeat).")] = None,
           product: Annotated[list[str] | None, typer.Option(help="Redeemable only with this product (repeat).")
                              ] = None,
           campaign_id: Annotated[int | None, typer.Option(help="The campaign budget claims spend from.")] = None,
           cost_fen: Annotated[int | None, typer.Option(help="What one claim costs the budget.")] = None,
           as_json: JsonOption = False) -> None:
    """Create an offer."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import service

    values = {"name": name, "kind": kind, "stock": stock, "per_person_limit": per_person_limit,
              "amount_fen": amount_fen, "percent_off": percent_off, "threshold_fen": threshold_fen, "points": points,
              "gift_name": gift_name, "valid_days": valid_days, "valid_from": _when(valid_from, "--valid-from"),
              "valid_until": _when(valid_until, "--valid-until"), "channels": channel or None,
              "products": product or None, "campaign_id": campaign_id, "cost_fen": cost_fen}
    with write(runtime().engine) as conn:
        offer = service.create_offer(conn, _workspace_id(conn, workspace), values, now=clock.now())
    _print(offer.to_dict()) if as_json else out.print(f"offer {offer.id} created: {offer.name} ({offer.kind})")


@offers_app.command("list")
@handles_errors
def list_offers(workspace: WorkspaceOption, as_json: JsonOption = False) -> None:
    """Offers, newest first."""
    from siyu.db.engine import read
    from siyu.offers import store

    with read(runtime().engine) as conn:
        found = [o.to_dict() for o in store.list_offers(conn, _workspace_id(conn, workspace))]
    if as_json:
        _print(found)
        return
    for o in found:
        out.print(f"{o['id']}\t{o['status']}\t{o['kind']}\t{o['claimed']}/{o['stock']} claimed\t"
                  f"{o['redeemed']} redeemed\t{o['name']}")


@offers_app.command("show")
@handles_errors
def show(workspace: WorkspaceOption, offer_id: Annotated[int, typer.Argument(min=1)], as_json: JsonOption = False
         ) -> None:
    """One offer with its figures (claimed, redeemed, remaining, per day)."""
    from siyu import clock
    from siyu.db.engine import read
    from siyu.offers import store
    from siyu.offers.figures import offer_figures
    from siyu.workspaces import store as workspace_store

    with read(runtime().engine) as conn:
        ws = workspace_store.get_workspace(conn, workspace)
        offer = store.get_offer(conn, ws.id, offer_id)
        shown = offer.to_dict() | {"figures": offer_figures(conn, ws.id, offer, timezone=ws.timezone,
                                                             now=clock.now())}
    if as_json:
        _print(shown)
        return
    figures = shown["figures"]
    out.print(f"{offer.id} {offer.name} ({offer.kind}, {offer.status}): {figures['claimed']}/{figures['stock']} "
              f"claimed, {figures['redeemed']} redeemed, {figures['remaining']} left")
    for day in figures["per_day"]:
        out.print(f"  {day['day']}\t{day['claimed']} claimed\t{day['redeemed']} redeemed")


@offers_app.command("claim")
@handles_errors
def claim(workspace: WorkspaceOption, offer_id: Annotated[int, typer.Argument(min=1)],
          profile_id: Annotated[int, typer.Option(min=1, help="The person claiming.")], key: KeyOption,
          channel: Annotated[str | None, typer.Option(help="Where it was claimed.")] = None,
          campaign_id: Annotated[int | None, typer.Option(help="The budget to spend (default: the offer's).")] = None,
          amount_fen: Annotated[int | None, typer.Option(help="The claim's own face value in fen (fixed_amount, "
                                                              "threshold, red_packet offers only).")] = None,
          as_json: JsonOption = False) -> None:
    """Claim one unit for a person (exit 2 with the reason when refused)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import codes, service
    from siyu.offers.errors import OffersError
    from siyu.profiles.read_store import resolve_profile_id

    refused: OffersError | None = None
    with write(runtime().engine) as conn:
        ws_id = _workspace_id(conn, workspace)
        person = resolve_profile_id(conn, ws_id, profile_id)
        try:
            got = service.claim_offer(conn, ws_id, offer_id, profile_id=person, idempotency_key=key,
                                      now=clock.now(), channel=channel, campaign_id=campaign_id,
                                      amount_fen=amount_fen)
        except OffersError as error:
            refused = error  # committed: the key answers the same next time
    if refused is not None:
        raise refused
    _print(got.to_dict()) if as_json else out.print(f"claim {got.id}: code {codes.display(got.code or '')}")


@offers_app.command("redeem")
@handles_errors
def redeem(workspace: WorkspaceOption, code: Annotated[str, typer.Argument(help="The coupon's code.")],
           order_id: Annotated[str, typer.Option(help="The order it is used on.")],
           amount_fen: Annotated[int, typer.Option(min=0, help="The order amount before the coupon, in fen.")],
           key: KeyOption, channel: Annotated[str | None, typer.Option(help="The order's channel.")] = None,
           product: Annotated[list[str] | None, typer.Option(help="A product in the order (repeat).")] = None,
           as_json: JsonOption = False) -> None:
    """Use a coupon on an order (checks validity, channel, products and threshold)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import service
    from siyu.offers.redemption import Order

    order = Order(order_id=order_id, amount_fen=amount_fen, channel=channel, products=tuple(product or ()))
    with write(runtime().engine) as conn:
        used = service.redeem_claim(conn, _workspace_id(conn, workspace), code, order=order, idempotency_key=key,
                                    now=clock.now())
    _print(used.to_dict()) if as_json else out.print(f"redeemed on {used.order_id}: {used.discount_fen} fen off")


@offers_app.command("void")
@handles_errors
def void(workspace: WorkspaceOption, code: Annotated[str, typer.Argument(help="The coupon's code.")],
         reason: Annotated[str, typer.Option(help="Why (kept on the claim).")], as_json: JsonOption = False) -> None:
    """Void an unused claim: its unit, the person's limit and the budget come back."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import codes, service, store

    with write(runtime().engine) as conn:
        ws_id = _workspace_id(conn, workspace)
        found = store.claim_by_code(conn, ws_id, codes.normalise(code))
        voided = service.void_claim(conn, ws_id, found.id, reason=reason, now=clock.now())
    _print(voided.to_dict()) if as_json else out.print(f"claim {voided.id} {voided.status}")


@offers_app.command("fulfil")
@handles_errors
def fulfil(workspace: WorkspaceOption, code: Annotated[str, typer.Argument(help="The gift claim's code.")],
           status: Annotated[str, typer.Option(help="pending, shipped or delivered.")],
           name: Annotated[str | None, typer.Option(help="Delivery: the recipient.")] = None,
           phone: Annotated[str | None, typer.Option(help="Delivery: their phone.")] = None,
           address: Annotated[str | None, typer.Option(help="Delivery: the address.")] = None) -> None:
    """A physical gift's delivery details and progress."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import codes, service, store
    from siyu.offers.errors import OffersError
    from siyu.offers.models import Fulfilment

    if status not in set(Fulfilment):
        raise OffersError(f"--status is one of {', '.join(Fulfilment)}.")
    given = {"name": name, "phone": phone, "address": address}
    delivery = None if all(v is None for v in given.values()) else {k: v or "" for k, v in given.items()}
    with write(runtime().engine) as conn:
        ws_id = _workspace_id(conn, workspace)
        found = store.claim_by_code(conn, ws_id, codes.normalise(code))
        done = service.set_fulfilment(conn, ws_id, found.id, fulfilment_status=Fulfilment(status), delivery=delivery,
                                      now=clock.now())
    out.print(f"claim {done.id}: {done.fulfilment}")


@offers_app.command("end")
@handles_errors
def end(workspace: WorkspaceOption, offer_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Stop issuing an offer (claims made stay usable)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import service

    with write(runtime().engine) as conn:
        offer = service.end_offer(conn, _workspace_id(conn, workspace), offer_id, now=clock.now())
    out.print(f"offer {offer.id} {offer.status}")


@offers_app.command("codes")
@handles_errors
def add_codes(workspace: WorkspaceOption, offer_id: Annotated[int, typer.Argument(min=1)],
              count: Annotated[int | None, typer.Option(min=1, max=10_000, help="Generate this many.")] = None,
              import_file: Annotated[Path | None, typer.Option("--import", exists=True, dir_okay=False,
                                                               help="A CSV of codes (first column).")] = None
              ) -> None:
    """Fill an offer's code pool: generate a batch (printed, one per line) or import a CSV."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import codes, service
    from siyu.offers.errors import OffersError

    if (count is None) == (import_file is None):
        raise OffersError("Give either --count or --import.")
    if import_file is not None:
        found, problems = codes.parse_csv(import_file.read_text(encoding="utf-8-sig"))
        if problems or not found:
            raise OffersError("Nothing imported: " + "; ".join(problems[:10] or ["no codes"]))
    else:
        found = codes.generate_batch(count or 0)
    with write(runtime().engine) as conn:
        service.add_codes(conn, _workspace_id(conn, workspace), offer_id, found, now=clock.now())
    if import_file is None:
        sys.stdout.write("".join(code + "\n" for code in found))
    else:
        out.print(f"{len(found)} codes imported")


@offers_app.command("export-claims")
@handles_errors
def export_claims(workspace: WorkspaceOption, offer_id: Annotated[int, typer.Argument(min=1)],
                  output: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None
                  ) -> None:
    """Export an offer's claims as CSV (includes delivery details: personal data)."""
    from siyu.db.engine import read
    from siyu.offers.export import claims_csv

    rt = runtime()
    with read(rt.engine) as conn:
        ws_id = _workspace_id(conn, workspace)
    target = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    try:
        for chunk in claims_csv(rt.engine, ws_id, offer_id):
            target.write(chunk)
    finally:
        if output:
            target.close()


@offers_app.command("expire-due")
@handles_errors
def expire_due(workspace: WorkspaceOption) -> None:
    """Expire unused claims past their validity (what `siyu worker` does every pass)."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import service

    with write(runtime().engine) as conn:
        out.print(f"{service.expire_claims(conn, _workspace_id(conn, workspace), now=clock.now())} expired")


@offers_app.command("budget")
@handles_errors
def budget(workspace: WorkspaceOption,
           campaign_id: Annotated[int | None, typer.Argument(min=1, help="The campaign (omit to list all).")] = None,
           set_fen: Annotated[int | None, typer.Option("--set", min=0, help="Set its budget, in fen.")] = None,
           as_json: JsonOption = False) -> None:
    """Campaign budgets: list them, or set one."""
    from siyu import clock
    from siyu.db.engine import write
    from siyu.offers import store
    from siyu.offers.errors import OffersError

    if set_fen is not None and campaign_id is None:
        raise OffersError("--set needs the campaign id.")
    with write(runtime().engine) as conn:
        ws_id = _workspace_id(conn, workspace)
        if set_fen is not None and campaign_id is not None:
            store.set_budget(conn, ws_id, campaign_id, set_fen, clock.now())
        found = [b for b in store.list_budgets(conn, ws_id) if campaign_id is None or b["campaign_id"] == campaign_id]
    if as_json:
        _print(found)
        return
    for b in found:
        out.print(f"campaign {b['campaign_id']}\t{b['spent_fen']}/{b['budget_fen']} fen spent\t{b['left_fen']} left")
