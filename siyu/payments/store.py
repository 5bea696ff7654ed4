"""All SQL of cash rewards: the ledger rows, their claims, and the budgets they are decided against."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, func, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import identities, reward_budgets, rewards
from siyu.payments.errors import RewardNotFound
from siyu.payments.models import Reward, RewardStatus

COUNTED = (RewardStatus.DECIDED, RewardStatus.SENDING, RewardStatus.SENT, RewardStatus.UNCERTAIN)


def _reward(row: Any) -> Reward:
    values = {k: v for k, v in row._mapping.items() if k != "workspace_id"}
    values["status"] = RewardStatus(values["status"])
    return Reward(**values)


def insert_reward(conn: Connection, workspace_id: int, *, key: str, now: datetime,
                  **values: Any) -> tuple[Reward, bool]:
    """The row for ``key``, written ``decided`` unless it exists; whether it was written now.
    ``INSERT … ON CONFLICT DO NOTHING`` on (workspace, key): two callers with one key get one row."""
    inserted = conn.execute(upsert(conn, rewards).values(
        workspace_id=workspace_id, idempotency_key=key, status=RewardStatus.DECIDED.value, attempts=0,
        next_attempt_at=now, decided_at=now, updated_at=now, **values,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"]).returning(rewards.c.id)).first()
    if inserted is not None:
        return get_reward(conn, workspace_id, int(inserted[0])), True
    row = conn.execute(select(rewards).where(rewards.c.workspace_id == workspace_id,
                                             rewards.c.idempotency_key == key)).one()
    return _reward(row), False


def get_reward(conn: Connection, workspace_id: int, reward_id: int) -> Reward:
    row = conn.execute(select(rewards).where(rewards.c.workspace_id == workspace_id,
                                             rewards.c.id == reward_id)).first()
    if row is None:
        raise RewardNotFound(f"No reward {reward_id} in this workspace.", details={"reward_id": reward_id})
    return _reward(row)


def list_rewards(conn: Connection, workspace_id: int, *, status: str | None = None, profile_id: int | None = None,
                 reason: str | None = None, before_id: int | None = None, limit: int = 100) -> list[Reward]:
    """Newest first."""
    query = select(rewards).where(rewards.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(rewards.c.status == status)
    if profile_id is not None:
        query = query.where(rewards.c.profile_id == profile_id)
    if reason is not None:
        query = query.where(rewards.c.reason == reason)
    if before_id is not None:
        query = query.where(rewards.c.id < before_id)
    return [_reward(r) for r in conn.execute(query.order_by(desc(rewards.c.id)).limit(limit))]


def update_reward(conn: Connection, workspace_id: int, reward_id: int, now: datetime, **values: Any) -> None:
    conn.execute(update(rewards).where(rewards.c.workspace_id == workspace_id, rewards.c.id == reward_id)
                 .values(updated_at=now, **values))


def totals_since(conn: Connection, workspace_id: int, profile_id: int, since: datetime,
                 other_than: int) -> tuple[int, int]:
    """(packets, fen) decided for the person since ``since`` and not failed or refused (this row aside)."""
    row = conn.execute(select(func.count(), func.coalesce(func.sum(rewards.c.amount_fen), 0)).where(
        rewards.c.workspace_id == workspace_id, rewards.c.profile_id == profile_id, rewards.c.decided_at >= since,
        rewards.c.status.in_([s.value for s in COUNTED]), rewards.c.id != other_than)).one()
    return int(row[0]), int(row[1])


def set_budget(conn: Connection, workspace_id: int, reason: str, budget_fen: int, now: datetime) -> None:
    statement = upsert(conn, reward_budgets).values(workspace_id=workspace_id, reason=reason, budget_fen=budget_fen,
                                                    committed_fen=0, updated_at=now)
    conn.execute(statement.on_conflict_do_update(index_elements=["workspace_id", "reason"],
                                                 set_={"budget_fen": budget_fen, "updated_at": now}))


def commit_budget(conn: Connection, workspace_id: int, reason: str, amount_fen: int, now: datetime) -> bool | None:
    """Take ``amount_fen`` from the reason's budget: True, or False when that would overspend it; None
    when the reason has no budget. One conditional UPDATE, so two arrivals can't both take the last
    yuan: on PostgreSQL the second waits for the first's row lock and re-checks the condition; on
    SQLite writers are serialised by ``BEGIN IMMEDIATE``."""
    changed = conn.execute(update(reward_budgets).where(
        reward_budgets.c.workspace_id == workspace_id, reward_budgets.c.reason == reason,
        reward_budgets.c.committed_fen + amount_fen <= reward_budgets.c.budget_fen,
    ).values(committed_fen=reward_budgets.c.committed_fen + amount_fen, updated_at=now)).rowcount
    if changed:
        return True
    exists = conn.execute(select(reward_budgets.c.reason).where(reward_budgets.c.workspace_id == workspace_id,
                                                                reward_budgets.c.reason == reason)).first()
    return None if exists is None else False


def release_budget(conn: Connection, workspace_id: int, reason: str, amount_fen: int, now: datetime) -> None:
    """A failed reward gives its amount back."""
    conn.execute(update(reward_budgets).where(reward_budgets.c.workspace_id == workspace_id,
                                              reward_budgets.c.reason == reason)
                 .values(committed_fen=func.max(reward_budgets.c.committed_fen - amount_fen, 0)
                         if conn.dialect.name == "sqlite"
                         else func.greatest(reward_budgets.c.committed_fen - amount_fen, 0), updated_at=now))


def list_budgets(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(reward_budgets).where(reward_budgets.c.workspace_id == workspace_id)
                        .order_by(reward_budgets.c.reason))
    return [{"reason": r.reason, "budget_fen": int(r.budget_fen), "committed_fen": int(r.committed_fen),
             "left_fen": int(r.budget_fen) - int(r.committed_fen), "updated_at": r.updated_at} for r in rows]


def any_stale(conn: Connection, workspace_id: int, claimed_before: datetime) -> bool:
    """Whether a send was cut off (read first, so an idle pass takes no write lock)."""
    return conn.execute(select(rewards.c.id).where(
        rewards.c.workspace_id == workspace_id, rewards.c.status == RewardStatus.SENDING.value,
        rewards.c.claimed_at < claimed_before).limit(1)).first() is not None


def reclaim_stale(conn: Connection, workspace_id: int, claimed_before: datetime, now: datetime) -> int:
    """Sends cut off mid-call (a crash, a kill): ``sending`` since before the lease → ``uncertain``, so
    the provider is asked what became of them before anything is sent again."""
    return conn.execute(update(rewards).where(
        rewards.c.workspace_id == workspace_id, rewards.c.status == RewardStatus.SENDING.value,
        rewards.c.claimed_at < claimed_before,
    ).values(status=RewardStatus.UNCERTAIN.value, next_attempt_at=now, error_code="payments.interrupted",
             updated_at=now)).rowcount


def due_rewards(conn: Connection, workspace_id: int, now: datetime, limit: int) -> list[Reward]:
    """Decided and uncertain rows whose time has come, oldest first."""
    return [_reward(r) for r in conn.execute(select(rewards).where(
        rewards.c.workspace_id == workspace_id,
        rewards.c.status.in_([RewardStatus.DECIDED.value, RewardStatus.UNCERTAIN.value]),
        rewards.c.next_attempt_at <= now).order_by(rewards.c.next_attempt_at, rewards.c.id).limit(limit))]


def claim_reward(conn: Connection, workspace_id: int, reward: Reward, *, recipient: str, bill_no: str,
                 now: datetime) -> bool:
    """Move the row to ``sending`` before the provider is called, fixing its recipient and bill number.
    A compare-and-set on (status, attempts): of two workers that read the same row only one UPDATE
    matches (PostgreSQL re-checks the WHERE after the first commits; SQLite serialises writers), so
    one packet is never sent by two workers at once. A bill number, once set, is never replaced."""
    return conn.execute(update(rewards).where(
        rewards.c.workspace_id == workspace_id, rewards.c.id == reward.id, rewards.c.status == reward.status.value,
        rewards.c.attempts == reward.attempts,
    ).values(status=RewardStatus.SENDING.value, attempts=reward.attempts + 1, claimed_at=now, recipient=recipient,
             bill_no=func.coalesce(rewards.c.bill_no, bill_no), updated_at=now)).rowcount == 1


def settle_reward(conn: Connection, workspace_id: int, reward_id: int, *, status: RewardStatus, attempts: int,
                  now: datetime, **values: Any) -> bool:
    """Record what the provider answered, only if the row is still ours (``sending`` with our attempt;
    a row reclaimed as uncertain meanwhile is settled by the query instead)."""
    return conn.execute(update(rewards).where(
        rewards.c.workspace_id == workspace_id, rewards.c.id == reward_id,
        rewards.c.status == RewardStatus.SENDING.value, rewards.c.attempts == attempts,
    ).values(status=status.value, updated_at=now, **values)).rowcount == 1


def resolve_uncertain(conn: Connection, workspace_id: int, reward: Reward, *, status: RewardStatus, now: datetime,
                      **values: Any) -> bool:
    """Settle an uncertain row from the provider's query, if nobody moved it meanwhile."""
    return conn.execute(update(rewards).where(
        rewards.c.workspace_id == workspace_id, rewards.c.id == reward.id,
        rewards.c.status == RewardStatus.UNCERTAIN.value, rewards.c.attempts == reward.attempts,
    ).values(status=status.value, updated_at=now, **values)).rowcount == 1


def openid_of(conn: Connection, workspace_id: int, profile_id: int, appid: str) -> str | None:
    """The person's openid under ``appid`` (the official account bound to the merchant), most recent first."""
    return conn.execute(select(identities.c.value).where(
        identities.c.workspace_id == workspace_id, identities.c.profile_id == profile_id,
        identities.c.type == f"wechat_openid:{appid}").order_by(desc(identities.c.last_seen_at)).limit(1)).scalar()


def totals_by_status(conn: Connection, workspace_id: int) -> dict[str, tuple[int, int]]:
    """``status -> (rewards, fen)`` over the whole ledger: the console's figures."""
    rows = conn.execute(select(rewards.c.status, func.count(), func.coalesce(func.sum(rewards.c.amount_fen), 0))
                        .where(rewards.c.workspace_id == workspace_id).group_by(rewards.c.status))
    return {status: (int(count), int(fen)) for status, count, fen in rows}


def list_reasons(conn: Connection, workspace_id: int, limit: int = 500) -> list[str]:
    """The reasons rewards were decided for (the console's filter), along ix_rewards_reason."""
    return list(conn.execute(select(rewards.c.reason).where(rewards.c.workspace_id == workspace_id)
                             .group_by(rewards.c.reason).order_by(rewards.c.reason).limit(limit)).scalars())


def fold_rewards(conn: Connection, workspace_id: int, from_id: int, into_id: int) -> None:
    """A profile merge: the merged-away person's cash rewards (paid, pending or waiting for an openid)
    become the survivor's, so the ledger, the daily limits and the profile's rewards see one person."""
    conn.execute(update(rewards).where(rewards.c.workspace_id == workspace_id, rewards.c.profile_id == from_id)
                 .values(profile_id=into_id))
