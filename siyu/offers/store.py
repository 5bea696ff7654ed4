"""All SQL of offers: templates, code pools, claims, per-person holdings and campaign budgets.

Why a claim never over-issues (the concurrency argument; the race tests in
``tests/offers/test_concurrency.py`` fire many threads, each on its own connection, at both databases):

- **stock** moves only through :func:`take_stock`, one ``UPDATE offers SET claimed = claimed + 1
  WHERE id = ? AND claimed < stock``. On PostgreSQL a second transaction updating the same row
  waits for the first's row lock, then re-evaluates the WHERE on the committed row (READ COMMITTED's
  EvalPlanQual), so the last unit goes to exactly one of them; on SQLite every write transaction
  starts with ``BEGIN IMMEDIATE`` (:func:`siyu.db.engine.write`), so writers run one at a time;
- **the per-person limit** moves only through :func:`take_holding`, an upsert on the unique
  (workspace, offer, profile) row whose update is guarded by ``held < limit``: PostgreSQL's
  ``ON CONFLICT DO UPDATE`` locks the conflicting row and evaluates the guard on its latest version,
  and two first-time inserts meet on the unique index (the second then takes the update path);
- **a campaign budget** moves only through :func:`spend_budget`, ``spent_fen + cost <= budget_fen``;
- **a key** is taken by ``INSERT … ON CONFLICT DO NOTHING`` on (workspace, idempotency_key) before
  anything else (:func:`take_key`): two requests with one key get one row; the second sees the
  first's committed answer (on PostgreSQL its INSERT waits on the unique index until the first commits).

A refused step undoes the steps before it in the same transaction (:func:`release_holding`,
:func:`refund_budget`, :func:`free_pool_code`); the rows involved are still locked by this
transaction, so nobody saw the intermediate counts. The budget and the stock, the rows every claimer
updates, are taken last (:mod:`siyu.offers.service`), so their locks are held only until the commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    bindparam,
    delete,
    desc,
    func,
    literal_column,
    select,
    type_coerce,
    union_all,
    update,
)

from siyu.db.dialect import upsert
from siyu.db.tables import offer_budgets, offer_claims, offer_codes, offer_holdings, offers
from siyu.offers.errors import ClaimNotFound, OfferNotFound
from siyu.offers.models import Claim, ClaimStatus, CodeSource, Fulfilment, Offer, OfferKind, OfferStatus

DAY_MS = 86_400_000
GRANTED = (ClaimStatus.CLAIMED, ClaimStatus.REDEEMED, ClaimStatus.VOIDED, ClaimStatus.EXPIRED)

# The claim's hot statements, built once (a flash sale runs them thousands of times a second, and
# building a statement costs more Python than running it); values are bound at execution. Bind names
# differ from column names so that SQLAlchemy does not take them for SET values.
_WS: Any = bindparam("w_id")
_OFFER: Any = bindparam("o_id")
_CLAIM: Any = bindparam("c_id")
_GET_OFFER = select(offers).where(offers.c.workspace_id == _WS, offers.c.id == _OFFER)
_TAKE_STOCK = update(offers).where(offers.c.workspace_id == _WS, offers.c.id == _OFFER,
                                   offers.c.claimed < offers.c.stock).values(claimed=offers.c.claimed + 1)
_GIVE_BACK_STOCK = update(offers).where(offers.c.workspace_id == _WS, offers.c.id == _OFFER,
                                        offers.c.claimed > 0).values(claimed=offers.c.claimed - 1)
_RELEASE_HOLDING = update(offer_holdings).where(
    offer_holdings.c.workspace_id == _WS, offer_holdings.c.offer_id == _OFFER,
    offer_holdings.c.profile_id == bindparam("p_id"), offer_holdings.c.held > 0).values(held=offer_holdings.c.held - 1)
_CODE_TAKEN: Any = union_all(
    select(literal_column("1")).where(offer_codes.c.workspace_id == _WS, offer_codes.c.code == bindparam("code_")),
    select(literal_column("1")).where(offer_claims.c.workspace_id == _WS, offer_claims.c.code == bindparam("code_")))
_FINISH_CLAIM = (update(offer_claims).where(offer_claims.c.workspace_id == _WS, offer_claims.c.id == _CLAIM)
                 .returning(*offer_claims.c))
_DIALECT_STATEMENTS: dict[tuple[str, str], Any] = {}


def dialect_statement(conn: Connection, name: str, build: Callable[[], Any]) -> Any:
    """The statement ``name`` for the connection's dialect (upserts differ by dialect), built once."""
    key = (conn.dialect.name, name)
    if key not in _DIALECT_STATEMENTS:
        _DIALECT_STATEMENTS[key] = build()
    return _DIALECT_STATEMENTS[key]


def _take_key_statement(conn: Connection) -> Any:
    return dialect_statement(conn, "take_key", lambda: upsert(conn, offer_claims).on_conflict_do_nothing(
        index_elements=["workspace_id", "idempotency_key"]).returning(offer_claims.c.id))


def _take_holding_statement(conn: Connection) -> Any:
    def build() -> Any:
        statement = upsert(conn, offer_holdings)
        return statement.on_conflict_do_update(
            index_elements=["workspace_id", "offer_id", "profile_id"], set_={"held": offer_holdings.c.held + 1},
            where=offer_holdings.c.held < bindparam("limit_")).returning(offer_holdings.c.held)

    return dialect_statement(conn, "take_holding", build)


def _offer(row: Any) -> Offer:
    return offer_from_values(row._mapping)


def offer_from_values(mapping: Any) -> Offer:
    """An offer from its row's values (other keys, and the workspace, are left out)."""
    values = {c.name: mapping[c.name] for c in offers.c if c.name != "workspace_id"}
    values.update(kind=OfferKind(values["kind"]), status=OfferStatus(values["status"]),
                  code_source=CodeSource(values["code_source"]))
    return Offer(**values)


def claim_from_row(row: Any) -> Claim:
    values = {k: v for k, v in row._mapping.items() if k != "workspace_id"}
    values["status"] = ClaimStatus(values["status"])
    values["fulfilment"] = Fulfilment(values["fulfilment"]) if values["fulfilment"] else None
    return Claim(**values)


def insert_offer(conn: Connection, workspace_id: int, values: dict[str, Any], now: datetime) -> Offer:
    offer_id = conn.execute(offers.insert().values(
        workspace_id=workspace_id, status=OfferStatus.ACTIVE.value, claimed=0, redeemed=0, created_at=now,
        updated_at=now, **values).returning(offers.c.id)).scalar_one()
    return get_offer(conn, workspace_id, int(offer_id))


def get_offer(conn: Connection, workspace_id: int, offer_id: int) -> Offer:
    row = conn.execute(_GET_OFFER, {"w_id": workspace_id, "o_id": offer_id}).first()
    if row is None:
        raise OfferNotFound(f"No offer {offer_id} in this workspace.", details={"offer_id": offer_id})
    return _offer(row)


def find_offer(conn: Connection, workspace_id: int, named: int | str) -> Offer | None:
    """An offer by id, or the newest active one with exactly this name; None when there is none."""
    if isinstance(named, int) or named.isdigit():
        offer_id = int(named)
        if not 0 < offer_id < 2**63:
            return None
        row = conn.execute(_GET_OFFER, {"w_id": workspace_id, "o_id": offer_id}).first()
    else:
        row = conn.execute(select(offers).where(
            offers.c.workspace_id == workspace_id, offers.c.name == named,
            offers.c.status == OfferStatus.ACTIVE.value).order_by(desc(offers.c.id)).limit(1)).first()
    return None if row is None else _offer(row)


def list_offers(conn: Connection, workspace_id: int, *, status: str | None = None, campaign_id: int | None = None,
                limit: int = 200) -> list[Offer]:
    """Newest first."""
    query = select(offers).where(offers.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(offers.c.status == status)
    if campaign_id is not None:
        query = query.where(offers.c.campaign_id == campaign_id)
    return [_offer(r) for r in conn.execute(query.order_by(desc(offers.c.id)).limit(limit))]


def update_offer(conn: Connection, workspace_id: int, offer_id: int, now: datetime, **values: Any) -> None:
    conn.execute(update(offers).where(offers.c.workspace_id == workspace_id, offers.c.id == offer_id)
                 .values(updated_at=now, **values))


def take_key(conn: Connection, workspace_id: int, *, offer_id: int, profile_id: int, key: str, now: datetime,
             channel: str | None, campaign_id: int | None, cost_fen: int,
             amount_fen: int | None = None) -> int | None:
    """The new attempt's row id (``pending``), or None when the key was taken before."""
    inserted = conn.execute(_take_key_statement(conn), {
        "workspace_id": workspace_id, "offer_id": offer_id, "profile_id": profile_id, "idempotency_key": key,
        "status": ClaimStatus.PENDING.value, "channel": channel, "campaign_id": campaign_id, "cost_fen": cost_fen,
        "amount_fen": amount_fen, "claimed_at": now, "updated_at": now}).first()
    return None if inserted is None else int(inserted[0])


def claim_by_key(conn: Connection, workspace_id: int, key: str) -> Claim:
    row = conn.execute(select(offer_claims).where(offer_claims.c.workspace_id == workspace_id,
                                                  offer_claims.c.idempotency_key == key)).one()
    return claim_from_row(row)


def get_claim(conn: Connection, workspace_id: int, claim_id: int) -> Claim:
    row = conn.execute(select(offer_claims).where(offer_claims.c.workspace_id == workspace_id,
                                                  offer_claims.c.id == claim_id)).first()
    if row is None:
        raise ClaimNotFound(f"No claim {claim_id} in this workspace.", details={"claim_id": claim_id})
    return claim_from_row(row)


def claim_by_code(conn: Connection, workspace_id: int, code: str) -> Claim:
    row = conn.execute(select(offer_claims).where(offer_claims.c.workspace_id == workspace_id,
                                                  offer_claims.c.code == code)).first()
    if row is None:
        raise ClaimNotFound(f"No coupon with code {code} in this workspace.", details={"code": code})
    return claim_from_row(row)


def take_holding(conn: Connection, workspace_id: int, offer_id: int, profile_id: int, limit: int) -> bool:
    """One more of the offer for the person, if they have fewer than ``limit`` (voids excepted)."""
    return conn.execute(_take_holding_statement(conn), {"workspace_id": workspace_id, "offer_id": offer_id,
                                                        "profile_id": profile_id, "held": 1, "limit_": limit}
                        ).first() is not None


def release_holding(conn: Connection, workspace_id: int, offer_id: int, profile_id: int) -> None:
    conn.execute(_RELEASE_HOLDING, {"w_id": workspace_id, "o_id": offer_id, "p_id": profile_id})


def take_stock(conn: Connection, workspace_id: int, offer_id: int, now: datetime) -> bool:
    """One unit of the offer, if any is left: ``UPDATE … WHERE claimed < stock`` (the module's argument)."""
    return conn.execute(_TAKE_STOCK, {"w_id": workspace_id, "o_id": offer_id}).rowcount == 1


def give_back_stock(conn: Connection, workspace_id: int, offer_id: int) -> None:
    conn.execute(_GIVE_BACK_STOCK, {"w_id": workspace_id, "o_id": offer_id})


def count_redeemed(conn: Connection, workspace_id: int, offer_id: int, delta: int) -> None:
    conn.execute(update(offers).where(offers.c.workspace_id == workspace_id, offers.c.id == offer_id)
                 .values(redeemed=offers.c.redeemed + delta))


def spend_budget(conn: Connection, workspace_id: int, campaign_id: int, cost_fen: int, now: datetime) -> bool | None:
    """Take ``cost_fen`` from the campaign's budget: True, False when that would overspend it, None when
    the campaign has no budget. One conditional UPDATE (the module's argument)."""
    changed = conn.execute(update(offer_budgets).where(
        offer_budgets.c.workspace_id == workspace_id, offer_budgets.c.campaign_id == campaign_id,
        offer_budgets.c.spent_fen + cost_fen <= offer_budgets.c.budget_fen,
    ).values(spent_fen=offer_budgets.c.spent_fen + cost_fen, updated_at=now)).rowcount
    if changed:
        return True
    exists = conn.execute(select(offer_budgets.c.campaign_id).where(
        offer_budgets.c.workspace_id == workspace_id, offer_budgets.c.campaign_id == campaign_id)).first()
    return None if exists is None else False


def refund_budget(conn: Connection, workspace_id: int, campaign_id: int, cost_fen: int, now: datetime) -> None:
    conn.execute(update(offer_budgets).where(
        offer_budgets.c.workspace_id == workspace_id, offer_budgets.c.campaign_id == campaign_id,
        offer_budgets.c.spent_fen >= cost_fen).values(spent_fen=offer_budgets.c.spent_fen - cost_fen, updated_at=now))


def set_budget(conn: Connection, workspace_id: int, campaign_id: int, budget_fen: int, now: datetime) -> None:
    statement = upsert(conn, offer_budgets).values(workspace_id=workspace_id, campaign_id=campaign_id,
                                                   budget_fen=budget_fen, spent_fen=0, updated_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=["workspace_id", "campaign_id"],
                                                 set_={"budget_fen": budget_fen, "updated_at": now}))


def list_budgets(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(offer_budgets).where(offer_budgets.c.workspace_id == workspace_id)
                        .order_by(offer_budgets.c.campaign_id))
    return [{"campaign_id": int(r.campaign_id), "budget_fen": int(r.budget_fen), "spent_fen": int(r.spent_fen),
             "left_fen": int(r.budget_fen) - int(r.spent_fen), "updated_at": r.updated_at} for r in rows]


def take_pool_code(conn: Connection, workspace_id: int, offer_id: int, claim_id: int) -> str | None:
    """A free code of the offer's pool, bound to the claim; None when the pool is empty. ``SKIP LOCKED``
    on PostgreSQL: concurrent claimers take different codes instead of queueing on (and then losing)
    the same one; SQLite serialises writers and ignores the clause."""
    free = (select(offer_codes.c.id).where(offer_codes.c.workspace_id == workspace_id,
                                           offer_codes.c.offer_id == offer_id, offer_codes.c.claim_id.is_(None))
            .order_by(offer_codes.c.id).limit(1).with_for_update(skip_locked=True).scalar_subquery())
    row = conn.execute(update(offer_codes).where(offer_codes.c.workspace_id == workspace_id,
                                                 offer_codes.c.id == free, offer_codes.c.claim_id.is_(None))
                       .values(claim_id=claim_id).returning(offer_codes.c.code)).first()
    return None if row is None else str(row[0])


def free_pool_code(conn: Connection, workspace_id: int, claim_id: int) -> None:
    """Unbind the pool code an attempt took in its own transaction before it was refused."""
    conn.execute(update(offer_codes).where(offer_codes.c.workspace_id == workspace_id,
                                           offer_codes.c.claim_id == claim_id).values(claim_id=None))


def existing_codes(conn: Connection, workspace_id: int, codes: list[str]) -> set[str]:
    """Which of ``codes`` are already a pool code or a claim's code in the workspace."""
    found: set[str] = set()
    for start in range(0, len(codes), 1000):
        chunk = codes[start:start + 1000]
        found |= set(conn.execute(select(offer_codes.c.code).where(offer_codes.c.workspace_id == workspace_id,
                                                                   offer_codes.c.code.in_(chunk))).scalars())
        found |= set(conn.execute(select(offer_claims.c.code).where(offer_claims.c.workspace_id == workspace_id,
                                                                    offer_claims.c.code.in_(chunk))).scalars())
    return found


def code_taken(conn: Connection, workspace_id: int, code: str) -> bool:
    """Whether ``code`` is a pool code or a claim's code in the workspace (one statement)."""
    return conn.execute(_CODE_TAKEN, {"w_id": workspace_id, "code_": code}).first() is not None


def finish_claim(conn: Connection, workspace_id: int, claim_id: int, now: datetime, **values: Any) -> Claim:
    """Write the attempt's answer and return the claim as stored (one ``UPDATE … RETURNING``)."""
    row = conn.execute(_FINISH_CLAIM, {"w_id": workspace_id, "c_id": claim_id, "updated_at": now, **values}).one()
    return claim_from_row(row)


def add_codes(conn: Connection, workspace_id: int, offer_id: int, codes: list[str], now: datetime) -> None:
    for start in range(0, len(codes), 1000):
        conn.execute(offer_codes.insert(), [{"workspace_id": workspace_id, "offer_id": offer_id, "code": code,
                                             "created_at": now} for code in codes[start:start + 1000]])


def pool_counts(conn: Connection, workspace_id: int, offer_id: int) -> dict[str, int]:
    row = conn.execute(select(func.count(), func.count(offer_codes.c.claim_id)).where(
        offer_codes.c.workspace_id == workspace_id, offer_codes.c.offer_id == offer_id)).one()
    return {"pool_size": int(row[0]), "pool_free": int(row[0]) - int(row[1])}


def update_claim(conn: Connection, workspace_id: int, claim_id: int, now: datetime, *,
                 expect: ClaimStatus | None = None, **values: Any) -> bool:
    """Write the claim's new values; with ``expect``, only if it is still in that status (a
    compare-and-set: of two concurrent redeems or voids, one matches)."""
    query = update(offer_claims).where(offer_claims.c.workspace_id == workspace_id, offer_claims.c.id == claim_id)
    if expect is not None:
        query = query.where(offer_claims.c.status == expect.value)
    return conn.execute(query.values(updated_at=now, **values)).rowcount == 1


def list_claims(conn: Connection, workspace_id: int, *, offer_id: int | None = None, profile_id: int | None = None,
                status: str | None = None, before_id: int | None = None, limit: int = 100) -> list[Claim]:
    """Granted claims (refused attempts only when ``status='refused'``), newest first."""
    query = select(offer_claims).where(offer_claims.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(offer_claims.c.status == status)
    else:
        query = query.where(offer_claims.c.status.in_([s.value for s in GRANTED]))
    if offer_id is not None:
        query = query.where(offer_claims.c.offer_id == offer_id)
    if profile_id is not None:
        query = query.where(offer_claims.c.profile_id == profile_id)
    if before_id is not None:
        query = query.where(offer_claims.c.id < before_id)
    return [claim_from_row(r) for r in conn.execute(query.order_by(desc(offer_claims.c.id)).limit(limit))]


def claims_by_status(conn: Connection, workspace_id: int, offer_id: int) -> dict[str, int]:
    rows = conn.execute(select(offer_claims.c.status, func.count()).where(
        offer_claims.c.workspace_id == workspace_id, offer_claims.c.offer_id == offer_id)
        .group_by(offer_claims.c.status))
    return {str(status): int(count) for status, count in rows}


def per_day(conn: Connection, workspace_id: int, offer_id: int, offset_ms: int, column: str) -> list[tuple[int, int]]:
    """(local day number since the epoch, count) of claims by ``claimed_at`` or ``redeemed_at``."""
    at = type_coerce(offer_claims.c[column], BigInteger)
    day = ((at + offset_ms) // DAY_MS).label("day")
    rows = conn.execute(select(day, func.count()).where(
        offer_claims.c.workspace_id == workspace_id, offer_claims.c.offer_id == offer_id, at.is_not(None),
        offer_claims.c.status.in_([s.value for s in GRANTED])).group_by(day).order_by(day))
    return [(int(d), int(c)) for d, c in rows]


def expire_due(conn: Connection, workspace_id: int, now: datetime, limit: int) -> list[int]:
    """Claims still unused past their validity → ``expired`` (their unit stays issued); the ids changed."""
    due = conn.execute(select(offer_claims.c.id).where(
        offer_claims.c.workspace_id == workspace_id, offer_claims.c.status == ClaimStatus.CLAIMED.value,
        offer_claims.c.valid_until <= now).order_by(offer_claims.c.id).limit(limit)).scalars().all()
    if not due:
        return []
    conn.execute(update(offer_claims).where(
        offer_claims.c.workspace_id == workspace_id, offer_claims.c.id.in_(due),
        offer_claims.c.status == ClaimStatus.CLAIMED.value,
    ).values(status=ClaimStatus.EXPIRED.value, ended_at=now, updated_at=now))
    return [int(x) for x in due]


def any_due(conn: Connection, workspace_id: int, now: datetime) -> bool:
    """Whether any claim waits to expire (read first, so an idle worker pass takes no write lock)."""
    return conn.execute(select(offer_claims.c.id).where(
        offer_claims.c.workspace_id == workspace_id, offer_claims.c.status == ClaimStatus.CLAIMED.value,
        offer_claims.c.valid_until <= now).limit(1)).first() is not None


def fold_claims(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    """A profile merge: the merged-away person's claims become the survivor's, and so do the units they
    hold against per-person limits — added up, so the survivor may claim only what is left of the limit
    for both (two accounts of one person never get twice the limit by merging later)."""
    conn.execute(update(offer_claims).where(offer_claims.c.workspace_id == workspace_id,
                                            offer_claims.c.profile_id == from_id).values(profile_id=into_id))
    held = conn.execute(select(offer_holdings.c.offer_id, offer_holdings.c.held).where(
        offer_holdings.c.workspace_id == workspace_id, offer_holdings.c.profile_id == from_id)).all()
    if not held:
        return
    statement = upsert(conn, offer_holdings)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["workspace_id", "offer_id", "profile_id"],
        set_={"held": offer_holdings.c.held + statement.excluded.held}),
        [{"workspace_id": workspace_id, "offer_id": row.offer_id, "profile_id": into_id, "held": row.held}
         for row in held])
    conn.execute(delete(offer_holdings).where(offer_holdings.c.workspace_id == workspace_id,
                                              offer_holdings.c.profile_id == from_id))
