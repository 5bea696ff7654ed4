"""The campaign rewards ledger (``campaign_rewards``): one row per reward a credit earns, keyed so it is
written once, then granted, voided or refused as its offer claim goes (:mod:`siyu.growth.rewards`
decides; this module holds its SQL, apart from the campaigns' own store)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, desc, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import campaign_rewards
from siyu.growth.models import Reward, RewardStatus
from siyu.growth.store import row_values


def _reward(row: Any) -> Reward:
    values = row_values(row)
    return Reward(**{**values, "status": RewardStatus(values["status"])})


def insert_reward(conn: Connection, workspace_id: int, *, campaign_id: int, reward_key: str, now: datetime,
                  **values: Any) -> tuple[Reward, bool]:
    """The reward for ``reward_key``, decided (``granted``) unless it exists; whether it was written now."""
    inserted = conn.execute(upsert(conn, campaign_rewards).values(
        workspace_id=workspace_id, campaign_id=campaign_id, reward_key=reward_key, status=RewardStatus.GRANTED.value,
        created_at=now, updated_at=now, **values,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "campaign_id", "reward_key"])
        .returning(campaign_rewards.c.id)).first()
    row = conn.execute(select(campaign_rewards).where(
        campaign_rewards.c.workspace_id == workspace_id, campaign_rewards.c.campaign_id == campaign_id,
        campaign_rewards.c.reward_key == reward_key)).one()
    return _reward(row), inserted is not None


def update_reward(conn: Connection, workspace_id: int, reward_id: int, now: datetime, *,
                  from_status: RewardStatus | None = None, **values: Any) -> bool:
    query = update(campaign_rewards).where(campaign_rewards.c.workspace_id == workspace_id,
                                           campaign_rewards.c.id == reward_id)
    if from_status is not None:
        query = query.where(campaign_rewards.c.status == from_status.value)
    return conn.execute(query.values(updated_at=now, **values)).rowcount == 1


def rewards_of_credit(conn: Connection, workspace_id: int, credit_id: int) -> list[Reward]:
    return [_reward(r) for r in conn.execute(select(campaign_rewards).where(
        campaign_rewards.c.workspace_id == workspace_id, campaign_rewards.c.credit_id == credit_id))]


def reward_by_key(conn: Connection, workspace_id: int, campaign_id: int, reward_key: str) -> list[Reward]:
    """The reward decided for ``reward_key`` (a list of none or one, for :func:`siyu.growth.rewards.void`)."""
    return [_reward(r) for r in conn.execute(select(campaign_rewards).where(
        campaign_rewards.c.workspace_id == workspace_id, campaign_rewards.c.campaign_id == campaign_id,
        campaign_rewards.c.reward_key == reward_key))]


def rewards_by_prefix(conn: Connection, workspace_id: int, campaign_id: int, prefix: str) -> list[Reward]:
    return [_reward(r) for r in conn.execute(select(campaign_rewards).where(
        campaign_rewards.c.workspace_id == workspace_id, campaign_rewards.c.campaign_id == campaign_id,
        campaign_rewards.c.reward_key.startswith(prefix, autoescape=True)))]


def list_rewards(conn: Connection, workspace_id: int, campaign_id: int, *, profile_id: int | None = None,
                 limit: int = 500) -> list[Reward]:
    query = select(campaign_rewards).where(campaign_rewards.c.workspace_id == workspace_id,
                                           campaign_rewards.c.campaign_id == campaign_id)
    if profile_id is not None:
        query = query.where(campaign_rewards.c.profile_id == profile_id)
    return [_reward(r) for r in conn.execute(query.order_by(desc(campaign_rewards.c.id)).limit(limit))]


def spent_fen(conn: Connection, workspace_id: int, campaign_id: int) -> int:
    """What the granted rewards cost (voided and refused ones aside)."""
    return int(conn.execute(select(func.coalesce(func.sum(campaign_rewards.c.cost_fen), 0)).where(and_(
        campaign_rewards.c.workspace_id == workspace_id, campaign_rewards.c.campaign_id == campaign_id,
        campaign_rewards.c.status == RewardStatus.GRANTED.value))).scalar_one())
