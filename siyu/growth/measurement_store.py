"""The SQL behind a campaign's measurement (siyu.growth.measurement): raw counts over its participants
and credits, and the people it brought."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from siyu.db.tables import campaign_credits, campaign_participants
from siyu.growth.models import CreditStatus
from siyu.growth.rewards_store import spent_fen


def campaign_counts(conn: Connection, workspace_id: int, campaign_id: int) -> dict[str, int]:
    """The raw counts measurement derives its figures from (see siyu.growth.measurement)."""
    participants = conn.execute(select(
        func.count(), func.coalesce(func.sum(campaign_participants.c.link_opens), 0)).where(
        campaign_participants.c.workspace_id == workspace_id,
        campaign_participants.c.campaign_id == campaign_id)).one()
    by_status: dict[str, int] = dict(conn.execute(select(campaign_credits.c.status, func.count()).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.campaign_id == campaign_id,
    ).group_by(campaign_credits.c.status)).all())
    credited = (campaign_credits.c.workspace_id == workspace_id) & (campaign_credits.c.campaign_id == campaign_id) \
        & (campaign_credits.c.status == CreditStatus.CREDITED.value)
    inviters = conn.execute(select(func.count(func.distinct(campaign_credits.c.participant_id))).where(
        credited)).scalar_one()
    new_customers = conn.execute(select(func.count(func.distinct(campaign_credits.c.profile_id))).where(
        credited, campaign_credits.c.new_customer == 1)).scalar_one()
    return {"participants": int(participants[0]), "link_opens": int(participants[1]),
            "inviters": int(inviters), "new_customers": int(new_customers),
            "spent_fen": spent_fen(conn, workspace_id, campaign_id),
            **{f"credits_{status}": int(by_status.get(status.value, 0)) for status in CreditStatus}}


def new_customer_ids(conn: Connection, workspace_id: int, campaign_id: int) -> list[int]:
    """The people the campaign brought: credited, and new to the brand by the identity graph."""
    return sorted(int(p) for p in conn.execute(select(campaign_credits.c.profile_id).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.campaign_id == campaign_id,
        campaign_credits.c.status == CreditStatus.CREDITED.value, campaign_credits.c.new_customer == 1,
    ).distinct()).scalars())


def phases(conn: Connection, workspace_id: int, campaign_id: int) -> dict[str, int]:
    """How many participants' own mechanics (groups, bargains, split pools) are open, done or failed."""
    rows = conn.execute(select(campaign_participants.c.phase, func.count()).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.campaign_id == campaign_id,
        campaign_participants.c.phase.is_not(None)).group_by(campaign_participants.c.phase))
    return {str(phase): int(count) for phase, count in rows}
