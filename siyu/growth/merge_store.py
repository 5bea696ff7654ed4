"""Fission campaigns follow a profile merge: participations, credits and rewards of two accounts of
one person become the survivor's.

Called from :func:`siyu.profiles.store.fold_profile` (through ``_fold_running_state``) inside the
merge's transaction; the participant rows touched are locked first (PostgreSQL), in id order, so a
credit being counted on either participation waits for the merge.

The policy:

- **One participation per campaign.** When both accounts took part in the same campaign, the one
  with more progress is kept (a tie: the one that joined first — its share link has been out
  longest). The other's credits move to it, and those credited add to its progress (the person did
  bring those friends), as do its link opens. Rewards already granted stay granted and move to the
  survivor; a threshold the added progress crosses is granted by the next credit, as any threshold
  is (rewards are unique on their keys, so nothing is granted twice). The dropped participation's
  own state (a group buy's group, a bargain) is not carried over — the kept one's state stands —
  and its share token stops resolving.
- **Credits where the merged person came through a link** (invitee or helper) are re-pointed. When
  the person now holds two credits of one kind in one campaign (invited through both accounts),
  only the first stays; the later one is revoked (``merged_duplicate``): one invitee, one credit.
- **No self-invite survives a merge.** A credit whose inviter and invitee (or helper) are now the
  same person is revoked — progress and the rewards it earned taken back by
  :func:`siyu.growth.credits.revoke` — and recorded in the anti-fraud log as a ``deny`` with the
  reason ``self_invite`` (:func:`siyu.growth.fraud_store.record_revocation`), so the campaign's fraud
  summary counts it.

Group-buy and split-coupon joins (kind ``join``) are re-pointed but never revoked here: the group's
state, not a credit, holds them.

The anti-fraud invite log (``growth_invites``) keeps the ids it was written with: its facts are
read through merges (:mod:`siyu.growth.fraud_store`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from siyu.db.tables import campaign_credits, campaign_participants, campaign_rewards

P, C = campaign_participants.c, campaign_credits.c
REVOCABLE = ("invite", "help")
OPEN = ("pending", "held", "credited")
MERGED_DUPLICATE = "merged_duplicate"


def fold_campaigns(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    """Fold the merged-away person's campaign state into the survivor's (see the module docstring)."""
    _fold_participations(conn, workspace_id, from_id, into_id, at)
    conn.execute(update(campaign_credits).where(C.workspace_id == workspace_id, C.profile_id == from_id)
                 .values(profile_id=into_id, updated_at=at))
    conn.execute(update(campaign_rewards).where(campaign_rewards.c.workspace_id == workspace_id,
                                                campaign_rewards.c.profile_id == from_id)
                 .values(profile_id=into_id, updated_at=at))
    _revoke_self_invites(conn, workspace_id, into_id, at)
    _revoke_duplicates(conn, workspace_id, into_id, at)


def _fold_participations(conn: Connection, workspace_id: int, from_id: int, into_id: int, at: datetime) -> None:
    query = (select(campaign_participants)
             .where(P.workspace_id == workspace_id, P.profile_id.in_(sorted({from_id, into_id}))).order_by(P.id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    by_campaign: dict[int, list[Any]] = {}
    for row in conn.execute(query):
        by_campaign.setdefault(int(row.campaign_id), []).append(row)
    for rows in by_campaign.values():
        if len(rows) == 1:
            if rows[0].profile_id == from_id:
                conn.execute(update(campaign_participants).where(P.workspace_id == workspace_id, P.id == rows[0].id)
                             .values(profile_id=into_id))
            continue
        kept, dropped = kept_participation(rows)
        _fold_participation(conn, workspace_id, kept, dropped, into_id, at)


def kept_participation(rows: list[Any]) -> tuple[Any, Any]:
    """(kept, dropped) of one person's two participations in a campaign: more progress wins, then
    the earlier join, then the lower id (pure, so the rule is tested without a database)."""
    first, second = sorted(rows, key=lambda r: (-int(r.progress), r.joined_at, int(r.id)))
    return first, second


def _fold_participation(conn: Connection, workspace_id: int, kept: Any, dropped: Any, into_id: int,
                        at: datetime) -> None:
    credited = conn.execute(select(C.id).where(C.workspace_id == workspace_id, C.participant_id == dropped.id,
                                               C.status == "credited")).all()
    conn.execute(update(campaign_credits).where(C.workspace_id == workspace_id, C.participant_id == dropped.id)
                 .values(participant_id=kept.id, updated_at=at))
    conn.execute(delete(campaign_participants).where(P.workspace_id == workspace_id, P.id == dropped.id))
    conn.execute(update(campaign_participants).where(P.workspace_id == workspace_id, P.id == kept.id).values(
        profile_id=into_id, progress=P.progress + len(credited), link_opens=P.link_opens + dropped.link_opens,
        new_customer=max(int(kept.new_customer), int(dropped.new_customer)),
        joined_at=min(kept.joined_at, dropped.joined_at)))


def _revoke_self_invites(conn: Connection, workspace_id: int, into_id: int, at: datetime) -> None:
    from siyu.growth.assessment import SUBJECT
    from siyu.growth.credits import revoke
    from siyu.growth.fraud import Reason, ReasonCode, Revocation
    from siyu.growth.fraud_store import record_revocation

    for credit_row, campaign in _open_credits(conn, workspace_id, into_id, owned_by=into_id):
        reason = Reason(ReasonCode.SELF_INVITE.value, 100, f"A profile merge made inviter and invitee one person "
                                                           f"(profile {into_id}).")
        if revoke(conn, workspace_id, campaign, credit_row, reason=ReasonCode.SELF_INVITE.value, now=at):
            record_revocation(conn, workspace_id, campaign_id=campaign.id, subject_kind=SUBJECT,
                              subject_id=credit_row.id, inviter_profile_id=into_id, invitee_profile_id=into_id,
                              revocation=Revocation(True, reason), now=at)


def _revoke_duplicates(conn: Connection, workspace_id: int, into_id: int, at: datetime) -> None:
    from siyu.growth.credits import revoke

    seen: set[tuple[int, str]] = set()
    for credit_row, campaign in _open_credits(conn, workspace_id, into_id):
        slot = (credit_row.campaign_id, credit_row.kind.value)
        if slot in seen:
            revoke(conn, workspace_id, campaign, credit_row, reason=MERGED_DUPLICATE, now=at)
        seen.add(slot)


def _open_credits(conn: Connection, workspace_id: int, profile_id: int, *, owned_by: int | None = None) -> list:
    """The person's open invite / help credits (as invitee or helper), oldest first, with their
    campaigns; only those on the participation of ``owned_by`` when given."""
    from siyu.growth import store

    query = select(C.id).where(C.workspace_id == workspace_id, C.profile_id == profile_id,
                               C.kind.in_(REVOCABLE), C.status.in_(OPEN))
    if owned_by is not None:
        query = query.join(campaign_participants, (P.id == C.participant_id) & (P.workspace_id == workspace_id)).where(
            P.profile_id == owned_by)
    found = []
    for credit_id in conn.execute(query.order_by(C.created_at, C.id)).scalars():
        credit_row = store.get_credit(conn, workspace_id, credit_id)
        assert credit_row is not None
        found.append((credit_row, store.get_campaign(conn, workspace_id, credit_row.campaign_id)))
    return found
