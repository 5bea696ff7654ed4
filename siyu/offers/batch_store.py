"""The SQL of claims taken together (:mod:`siyu.offers.batch`): one statement for a whole group where
:mod:`siyu.offers.store` has one per claim. Each is the set form of a guarded statement there, and the
concurrency argument of that module holds row by row: keys on the unique (workspace, key) index with
``ON CONFLICT DO NOTHING``, holdings by the upsert guarded by ``held < limit``, the stock by
``claimed + n <= stock`` (then, if short, the remainder under the row's lock)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Connection, bindparam, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import offer_claims, offer_codes, offer_holdings, offers, profiles
from siyu.offers.models import ClaimStatus, Offer
from siyu.offers.store import dialect_statement, offer_from_values

IN_CHUNK = 500  # names in one IN (...): well under SQLite's bound-parameter limit

_REFUSE = (update(offer_claims).where(offer_claims.c.workspace_id == bindparam("w_id"),
                                      offer_claims.c.id == bindparam("c_id"))
           .values(status=ClaimStatus.REFUSED.value, error_code=bindparam("error"), code=None, valid_from=None,
                   valid_until=None, updated_at=bindparam("now")))
_RELEASE = (update(offer_holdings).where(offer_holdings.c.workspace_id == bindparam("w_id"),
                                         offer_holdings.c.offer_id == bindparam("o_id"),
                                         offer_holdings.c.profile_id == bindparam("p_id"),
                                         offer_holdings.c.held > 0)
            .values(held=offer_holdings.c.held - 1))


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start:start + IN_CHUNK]


_OFFER_AND_PEOPLE = select(
    offers, profiles.c.id.label("person_id"), profiles.c.merged_into.label("person_merged")
).select_from(
    offers.outerjoin(profiles, (profiles.c.workspace_id == offers.c.workspace_id)
                     & (profiles.c.id == func.any(bindparam("ids", type_=ARRAY(BigInteger)))))
).where(offers.c.workspace_id == bindparam("w_id"), offers.c.id == bindparam("o_id"))
_PEOPLE_ANY = select(profiles.c.id, profiles.c.merged_into).where(
    profiles.c.workspace_id == bindparam("w_id"), profiles.c.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))


def live_profiles(conn: Connection, workspace_id: int, profile_ids: Sequence[int]) -> dict[int, int | None]:
    """{profile id: merged_into} for the ids that exist in the workspace (merged_into None: live). On
    PostgreSQL the ids go as one array parameter: one statement text whatever their number, so the
    driver prepares it once (an ``IN`` list is a new text for every length)."""
    if conn.dialect.name == "postgresql":
        rows = list(conn.execute(_PEOPLE_ANY, {"w_id": workspace_id, "ids": list(profile_ids)}))
    else:
        rows = [row for chunk in _chunks(profile_ids) for row in conn.execute(
            select(profiles.c.id, profiles.c.merged_into).where(profiles.c.workspace_id == workspace_id,
                                                                profiles.c.id.in_(chunk)))]
    return {int(row.id): None if row.merged_into is None else int(row.merged_into) for row in rows}


def offer_and_people(conn: Connection, workspace_id: int, offer_id: int, profile_ids: Sequence[int]
                     ) -> tuple[Offer | None, dict[int, int | None]]:
    """The offer (None when the workspace has none by that id) and :func:`live_profiles` of
    ``profile_ids``. On PostgreSQL in one round trip (the people joined to the offer's row): a
    group's time is mostly round trips to the database."""
    if conn.dialect.name != "postgresql":
        row = conn.execute(select(offers).where(offers.c.workspace_id == workspace_id, offers.c.id == offer_id)).first()
        return (None if row is None else offer_from_values(row._mapping),
                live_profiles(conn, workspace_id, profile_ids))
    rows = conn.execute(_OFFER_AND_PEOPLE, {"w_id": workspace_id, "o_id": offer_id, "ids": list(profile_ids)}).all()
    if not rows:
        return None, live_profiles(conn, workspace_id, profile_ids)
    found = {int(r.person_id): None if r.person_merged is None else int(r.person_merged)
             for r in rows if r.person_id is not None}
    return offer_from_values(rows[0]._mapping), found


def taken_codes(conn: Connection, workspace_id: int, codes: Sequence[str]) -> set[str]:
    """Which of ``codes`` already are a claim's or a pool's code in the workspace."""
    found: set[str] = set()
    for chunk in _chunks(codes):
        found.update(conn.execute(select(offer_claims.c.code).where(
            offer_claims.c.workspace_id == workspace_id, offer_claims.c.code.in_(chunk))).scalars())
        found.update(conn.execute(select(offer_codes.c.code).where(
            offer_codes.c.workspace_id == workspace_id, offer_codes.c.code.in_(chunk))).scalars())
    return found


def _insert_claims_statement(conn: Connection) -> Any:
    return dialect_statement(conn, "insert_claims", lambda: upsert(conn, offer_claims).on_conflict_do_nothing(
        index_elements=["workspace_id", "idempotency_key"]).returning(*offer_claims.c))


def _insert_keys_statement(conn: Connection) -> Any:
    return dialect_statement(conn, "insert_keys", lambda: upsert(conn, offer_claims).on_conflict_do_nothing(
        index_elements=["workspace_id", "idempotency_key"]).returning(offer_claims.c.idempotency_key))


def insert_claims(conn: Connection, workspace_id: int, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Insert the workspace's claim rows whose keys are new; {key: the stored row} of those inserted (a
    key taken before, by an earlier request or a concurrent transaction that committed, is left out)."""
    if not rows:
        return {}
    scoped = [{**row, "workspace_id": workspace_id} for row in rows]
    return {row.idempotency_key: row for row in conn.execute(_insert_claims_statement(conn), scoped)}


def insert_refusals(conn: Connection, workspace_id: int, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the workspace's refused attempts whose keys are new: the keys inserted (only those: the
    rows are known)."""
    if not rows:
        return set()
    scoped = [{**row, "workspace_id": workspace_id} for row in rows]
    return {row[0] for row in conn.execute(_insert_keys_statement(conn), scoped)}


def take_holdings(conn: Connection, workspace_id: int, offer_id: int, profile_ids: Sequence[int],
                  limit: int) -> set[int]:
    """One more unit for each of ``profile_ids`` (distinct) that holds fewer than ``limit``: the
    profiles that got it."""
    if not profile_ids or limit < 1:
        return set()
    rows = conn.execute(
        upsert(conn, offer_holdings).values([
            {"workspace_id": workspace_id, "offer_id": offer_id, "profile_id": p, "held": 1} for p in profile_ids
        ]).on_conflict_do_update(
            index_elements=["workspace_id", "offer_id", "profile_id"], set_={"held": offer_holdings.c.held + 1},
            where=offer_holdings.c.held < limit).returning(offer_holdings.c.profile_id))
    return {int(row[0]) for row in rows}


def release_holdings(conn: Connection, workspace_id: int, offer_id: int, profile_ids: Sequence[int]) -> None:
    if profile_ids:
        conn.execute(_RELEASE, [{"w_id": workspace_id, "o_id": offer_id, "p_id": p} for p in profile_ids])


def take_stock(conn: Connection, workspace_id: int, offer_id: int, wanted: int) -> int:
    """Up to ``wanted`` units of the offer: how many were taken. All of them by one guarded UPDATE
    when that many are left (the common case); otherwise what is left, read under the row's lock
    (``FOR UPDATE``; SQLite's write transaction holds the database) and taken."""
    if wanted <= 0:
        return 0
    where = (offers.c.workspace_id == workspace_id, offers.c.id == offer_id)
    if conn.execute(update(offers).where(*where, offers.c.claimed + wanted <= offers.c.stock)
                    .values(claimed=offers.c.claimed + wanted)).rowcount == 1:
        return wanted
    row = conn.execute(select(offers.c.claimed, offers.c.stock).where(*where).with_for_update()).one()
    left = max(0, min(wanted, int(row.stock) - int(row.claimed)))
    if left:
        conn.execute(update(offers).where(*where).values(claimed=offers.c.claimed + left))
    return left


def refuse_claims(conn: Connection, workspace_id: int, refused: Sequence[tuple[int, str]], now: datetime) -> None:
    """Write ``(claim id, error code)`` attempts as refused (what :func:`siyu.offers.service._refuse` writes)."""
    if refused:
        conn.execute(_REFUSE, [{"w_id": workspace_id, "c_id": claim_id, "error": code, "now": now}
                               for claim_id, code in refused])
