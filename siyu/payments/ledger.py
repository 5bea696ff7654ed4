"""The reward ledger: a cash reward is a row decided before any money moves, and one worker step
moves decided rows to the provider and settles what it answered.

Why nothing is paid twice, whatever fails:

- deciding is ``INSERT … ON CONFLICT DO NOTHING`` on the caller's idempotency key (a callback
  retried, a double click: one row);
- a row is claimed (``sending``, its bill number fixed from its id) in its own transaction before the
  provider is called, and the bill number never changes; WeChat Pay is re-entrant on it, so even
  a resend can only repeat the same packet;
- an answer that was lost, unparsable, SYSTEMERROR or an unknown code leaves the row ``uncertain``;
  an uncertain row is **queried** (gethbinfo) before anything else: paid → ``sent``; failed →
  ``failed``; still sending → asked again later; no such bill → sent again with the same number;
- a worker killed mid-call leaves the row ``sending``; after :data:`~siyu.payments.rules.SENDING_LEASE`
  it is treated as uncertain, i.e. queried first.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from siyu.db.engine import read, write
from siyu.payments import rules, store
from siyu.payments.errors import PaymentsError
from siyu.payments.models import Answer, Outcome, Reward, RewardStatus
from siyu.payments.rules import BEIJING_DAY
from siyu.payments.wechat_pay import PROVIDER, CashProvider, WeChatPayCash

log = logging.getLogger("siyu.payments")
BATCH = 100
NO_OPENID_PAUSE = rules.RETRY_MAX


def _check(amount_fen: int, scene_id: str | None, reason: str, key: str, texts: dict[str, str]) -> None:
    refusal = rules.amount_refusal(amount_fen, scene_id)
    if refusal:
        raise PaymentsError(refusal, code="payments.invalid_amount", details={"field": "amount_fen"})
    for field, limit in rules.LIMITS.items():
        if field in texts and not 0 < len(texts[field]) <= limit:
            raise PaymentsError(f"'{field}' is 1-{limit} characters.", details={"field": field})
    if not 0 < len(reason) <= 100:
        raise PaymentsError("'reason' is 1-100 characters.", details={"field": "reason"})
    if not 0 < len(key) <= 200:
        raise PaymentsError("'idempotency_key' is 1-200 characters.", details={"field": "idempotency_key"})


def decide_reward(conn: Connection, workspace_id: int, *, key: str, profile_id: int, amount_fen: int, reason: str,
                  wishing: str, act_name: str, remark: str, now: datetime, scene_id: str | None = None,
                  budget_fen: int | None = None) -> tuple[Reward, bool]:
    """Write the decision to pay ``amount_fen`` to the person, inside the caller's transaction; the
    same ``key`` again returns the first decision (False). ``budget_fen`` sets the reason's budget
    (what it may spend in all); a reward that would overspend it, or break WeChat's per-user daily
    limits, is written ``refused`` (``payments.budget_spent``, ``payments.daily_limit``) and never sent."""
    _check(amount_fen, scene_id, reason, key, {"wishing": wishing, "act_name": act_name, "remark": remark})
    reward, created = store.insert_reward(conn, workspace_id, key=key, now=now, profile_id=profile_id,
                                          reason=reason, amount_fen=amount_fen, provider=PROVIDER, wishing=wishing,
                                          act_name=act_name, remark=remark, scene_id=scene_id)
    if not created:
        return reward, False
    packets, fen = store.totals_since(conn, workspace_id, profile_id, BEIJING_DAY.start(now), other_than=reward.id)
    refusal = rules.daily_refusal(packets, fen, amount_fen)
    code = "payments.daily_limit" if refusal else None
    if refusal is None:
        if budget_fen is not None:
            store.set_budget(conn, workspace_id, reason, budget_fen, now)
        if store.commit_budget(conn, workspace_id, reason, amount_fen, now) is False:
            code, refusal = "payments.budget_spent", f"The budget of {reason} is spent."
    if refusal is not None:
        store.update_reward(conn, workspace_id, reward.id, now, status=RewardStatus.REFUSED.value, error_code=code,
                            error_detail=refusal)
        reward = store.get_reward(conn, workspace_id, reward.id)
    return reward, True


def send_due(engine: Any, workspace: Any, provider: CashProvider | None = None, *, now: datetime,
             limit: int = BATCH) -> dict[str, int]:
    """The worker step for one workspace: stale sends reclaimed as uncertain, then each due row
    queried (uncertain) and/or sent (decided). Returns what happened, by outcome."""
    reclaimed = 0
    with read(engine) as conn:
        stale = store.any_stale(conn, workspace.id, now - rules.SENDING_LEASE)
    if stale:
        with write(engine) as conn:
            reclaimed = store.reclaim_stale(conn, workspace.id, now - rules.SENDING_LEASE, now)
    with read(engine) as conn:
        due = store.due_rewards(conn, workspace.id, now, limit)
    done: Counter[str] = Counter()
    if reclaimed:
        done["reclaimed"] = reclaimed
    if not due:
        return dict(done)
    provider = provider or WeChatPayCash.from_settings(workspace.settings)
    for reward in due:
        done[_advance(engine, workspace, provider, reward, now)] += 1
    return dict(done)


def _advance(engine: Any, workspace: Any, provider: CashProvider, reward: Reward, now: datetime) -> str:
    if reward.status is RewardStatus.UNCERTAIN and reward.bill_no:
        answer = provider.query(reward.bill_no)
        if answer.outcome is not Outcome.NOT_FOUND:
            return _settle_query(engine, workspace.id, reward, answer, now)
        # no such bill: it never landed (or is still landing) — the same bill number may be sent again
    recipient = reward.recipient
    if recipient is None:
        with read(engine) as conn:
            recipient = store.openid_of(conn, workspace.id, _person(conn, workspace.id, reward.profile_id),
                                        provider.appid)
    if recipient is None:
        return _wait_for_openid(engine, workspace.id, reward, now)
    bill_no = reward.bill_no or rules.bill_number(provider.mch_id, BEIJING_DAY.day(reward.decided_at), reward.id)
    with write(engine) as conn:
        if not store.claim_reward(conn, workspace.id, reward, recipient=recipient, bill_no=bill_no, now=now):
            return "skipped"  # another worker took it
    answer = provider.send(bill_no=bill_no, openid=recipient, amount_fen=reward.amount_fen, wishing=reward.wishing,
                           act_name=reward.act_name, remark=reward.remark, scene_id=reward.scene_id)
    return _settle_send(engine, workspace.id, reward, reward.attempts + 1, answer, now)


def _person(conn: Connection, workspace_id: int, profile_id: int) -> int:
    """The live profile behind the reward's: a WeCom contact decided on before its unionid joined it
    to the official-account follower (:mod:`siyu.staff.contact_details`) is merged away since, and
    the follower's profile holds the openid."""
    from siyu.profiles.errors import ProfileNotFound
    from siyu.profiles.read_store import resolve_profile_id

    try:
        return resolve_profile_id(conn, workspace_id, profile_id)
    except ProfileNotFound:  # erased or never stored: no openid to find either way
        return profile_id


def _settle_send(engine: Any, workspace_id: int, reward: Reward, attempts: int, answer: Answer, now: datetime) -> str:
    values: dict[str, Any] = {"error_code": answer.code, "error_detail": answer.detail}
    match answer.outcome:
        case Outcome.PAID:
            status = RewardStatus.SENT
            values.update(provider_id=answer.provider_id, provider_status=answer.provider_status, sent_at=now,
                          error_code=None, error_detail=None)
        case Outcome.REFUSED:
            status = RewardStatus.FAILED
        case Outcome.LATER:  # nothing paid: the same bill number later
            status = RewardStatus.DECIDED
            values["next_attempt_at"] = rules.retry_at(attempts, now, answer.outcome, answer.code)
        case Outcome.UNKNOWN | Outcome.NOT_FOUND | Outcome.PENDING:
            status = RewardStatus.UNCERTAIN
            values["next_attempt_at"] = rules.retry_at(attempts, now, answer.outcome)
    with write(engine) as conn:
        settled = store.settle_reward(conn, workspace_id, reward.id, status=status, attempts=attempts, now=now,
                                      **values)
        if settled and status is RewardStatus.FAILED:
            store.release_budget(conn, workspace_id, reward.reason, reward.amount_fen, now)
    return status.value if settled else "skipped"


def _settle_query(engine: Any, workspace_id: int, reward: Reward, answer: Answer, now: datetime) -> str:
    values: dict[str, Any] = {}
    match answer.outcome:
        case Outcome.PAID:
            status = RewardStatus.SENT
            values.update(provider_id=answer.provider_id, provider_status=answer.provider_status,
                          sent_at=reward.sent_at or now, error_code=None, error_detail=None)
        case Outcome.REFUSED:
            status = RewardStatus.FAILED
            values.update(provider_status=answer.provider_status, error_code=answer.code or "FAILED",
                          error_detail=answer.detail)
        case _:  # still sending, or the query itself failed: ask again later
            status = RewardStatus.UNCERTAIN
            values.update(next_attempt_at=rules.retry_at(reward.attempts, now, answer.outcome),
                          provider_status=answer.provider_status, error_code=answer.code,
                          error_detail=answer.detail)
    with write(engine) as conn:
        settled = store.resolve_uncertain(conn, workspace_id, reward, status=status, now=now, **values)
        if settled and status is RewardStatus.FAILED:
            store.release_budget(conn, workspace_id, reward.reason, reward.amount_fen, now)
    return ("queried_" + status.value) if settled else "skipped"


def _wait_for_openid(engine: Any, workspace_id: int, reward: Reward, now: datetime) -> str:
    """No openid under the merchant's appid yet (the person has not followed the account nor opened a
    page that identifies them): wait, for :data:`~siyu.payments.rules.WAIT_FOR_OPENID` at most."""
    with write(engine) as conn:
        if now - reward.decided_at >= rules.WAIT_FOR_OPENID:
            store.update_reward(conn, workspace_id, reward.id, now, status=RewardStatus.FAILED.value,
                                error_code="payments.no_openid",
                                error_detail="No openid under the merchant's appid within 7 days.")
            store.release_budget(conn, workspace_id, reward.reason, reward.amount_fen, now)
            return RewardStatus.FAILED.value
        store.update_reward(conn, workspace_id, reward.id, now, next_attempt_at=now + NO_OPENID_PAUSE,
                            error_code="payments.no_openid",
                            error_detail="Waiting for the person's openid under the merchant's appid.")
    return "waiting"
