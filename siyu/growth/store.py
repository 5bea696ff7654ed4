"""All SQL of campaigns: the campaigns, participants, credits, rewards and counters.

Every count that limits issuance (budget, tier stock, a participant's progress) moves by one
conditional UPDATE, and every "once only" (a person joins once, a helper helps once, a reward is
decided once) is a unique key written with ``INSERT … ON CONFLICT DO NOTHING``: never check-then-insert.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, desc, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import (
    campaign_counters,
    campaign_credits,
    campaign_participants,
    campaigns,
    events,
    profiles,
)
from siyu.growth.errors import CampaignNotFound
from siyu.growth.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Credit,
    CreditKind,
    CreditStatus,
    Participant,
)


def row_values(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row._mapping.items() if k != "workspace_id"}


def _campaign(row: Any) -> Campaign:
    values = row_values(row)
    return Campaign(**{**values, "kind": CampaignKind(values["kind"]), "status": CampaignStatus(values["status"])})


def _participant(row: Any) -> Participant:
    values = row_values(row)
    return Participant(**{**values, "new_customer": bool(values["new_customer"])})


def _credit(row: Any) -> Credit:
    values = row_values(row)
    return Credit(**{**values, "kind": CreditKind(values["kind"]), "status": CreditStatus(values["status"]),
                     "new_customer": bool(values["new_customer"])})


# --- campaigns -----------------------------------------------------------------------------------

def insert_campaign(conn: Connection, workspace_id: int, *, now: datetime, **values: Any) -> Campaign:
    new_id = conn.execute(campaigns.insert().values(workspace_id=workspace_id, created_at=now, updated_at=now,
                                                    **values).returning(campaigns.c.id)).scalar_one()
    return get_campaign(conn, workspace_id, int(new_id))


def get_campaign(conn: Connection, workspace_id: int, campaign_id: int) -> Campaign:
    row = conn.execute(select(campaigns).where(campaigns.c.workspace_id == workspace_id,
                                               campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignNotFound(f"No campaign {campaign_id} in this workspace.", details={"campaign_id": campaign_id})
    return _campaign(row)


def campaign_by_token(conn: Connection, token: str) -> tuple[int, Campaign] | None:
    """(workspace id, campaign) behind a public page's token."""
    # tenancy: cross-workspace by design — the public page's token is the address, unique across workspaces
    row = conn.execute(select(campaigns).where(campaigns.c.token == token)).first()
    return None if row is None else (int(row.workspace_id), _campaign(row))


def list_campaigns(conn: Connection, workspace_id: int, *, status: str | None = None,
                   kind: str | None = None) -> list[Campaign]:
    query = select(campaigns).where(campaigns.c.workspace_id == workspace_id)
    if status is not None:
        query = query.where(campaigns.c.status == status)
    if kind is not None:
        query = query.where(campaigns.c.kind == kind)
    return [_campaign(r) for r in conn.execute(query.order_by(desc(campaigns.c.id)))]


def update_campaign(conn: Connection, workspace_id: int, campaign_id: int, now: datetime, *,
                    expected_status: CampaignStatus | None = None, **values: Any) -> bool:
    """Change a campaign; with ``expected_status``, only if it still has it (a compare-and-set)."""
    query = update(campaigns).where(campaigns.c.workspace_id == workspace_id, campaigns.c.id == campaign_id)
    if expected_status is not None:
        query = query.where(campaigns.c.status == expected_status.value)
    return conn.execute(query.values(updated_at=now, **values)).rowcount == 1


def campaigns_to_settle(conn: Connection, workspace_id: int, now: datetime) -> list[Campaign]:
    """Live campaigns past their end, and ended ones whose prizes are not handed out yet."""
    return [_campaign(r) for r in conn.execute(select(campaigns).where(
        campaigns.c.workspace_id == workspace_id, campaigns.c.settled_at.is_(None),
        ((campaigns.c.status == CampaignStatus.LIVE.value) & (campaigns.c.ends_at <= now))
        | (campaigns.c.status == CampaignStatus.ENDED.value)))]


def workspaces_with_campaigns(conn: Connection) -> list[int]:
    # tenancy: cross-workspace by design — the worker visits every workspace that runs campaigns
    return sorted(conn.execute(select(campaigns.c.workspace_id).where(
        campaigns.c.status != CampaignStatus.DRAFT.value).distinct()).scalars())


# --- counters (budget, tier stock) --------------------------------------------------------------

def set_counter(conn: Connection, workspace_id: int, campaign_id: int, name: str, cap: int) -> None:
    statement = upsert(conn, campaign_counters).values(workspace_id=workspace_id, campaign_id=campaign_id, name=name,
                                                       cap=cap, used=0)
    conn.execute(statement.on_conflict_do_update(index_elements=["workspace_id", "campaign_id", "name"],
                                                 set_={"cap": cap}))


def take_counter(conn: Connection, workspace_id: int, campaign_id: int, name: str, amount: int) -> bool | None:
    """Take ``amount``: True, False when that would pass the cap, None when there is no such counter.
    One conditional UPDATE: on PostgreSQL a second taker waits for the first's row lock and re-checks
    the condition against the committed value; on SQLite writers are serialised by BEGIN IMMEDIATE."""
    changed = conn.execute(update(campaign_counters).where(
        campaign_counters.c.workspace_id == workspace_id, campaign_counters.c.campaign_id == campaign_id,
        campaign_counters.c.name == name, campaign_counters.c.used + amount <= campaign_counters.c.cap,
    ).values(used=campaign_counters.c.used + amount)).rowcount
    if changed:
        return True
    exists = conn.execute(select(campaign_counters.c.name).where(
        campaign_counters.c.workspace_id == workspace_id, campaign_counters.c.campaign_id == campaign_id,
        campaign_counters.c.name == name)).first()
    return None if exists is None else False


def release_counter(conn: Connection, workspace_id: int, campaign_id: int, name: str, amount: int) -> None:
    """Give back what a refused or voided grant had taken (never below zero)."""
    conn.execute(update(campaign_counters).where(
        campaign_counters.c.workspace_id == workspace_id, campaign_counters.c.campaign_id == campaign_id,
        campaign_counters.c.name == name, campaign_counters.c.used >= amount,
    ).values(used=campaign_counters.c.used - amount))


def counters(conn: Connection, workspace_id: int, campaign_id: int) -> dict[str, dict[str, int]]:
    rows = conn.execute(select(campaign_counters).where(campaign_counters.c.workspace_id == workspace_id,
                                                        campaign_counters.c.campaign_id == campaign_id))
    return {r.name: {"cap": int(r.cap), "used": int(r.used)} for r in rows}


# --- participants --------------------------------------------------------------------------------

def insert_participant(conn: Connection, workspace_id: int, *, campaign_id: int, profile_id: int, token: str,
                       new_customer: bool, now: datetime) -> tuple[Participant, bool]:
    """The person's participation, written unless it exists; whether it was written now."""
    inserted = conn.execute(upsert(conn, campaign_participants).values(
        workspace_id=workspace_id, campaign_id=campaign_id, profile_id=profile_id, token=token, progress=0,
        link_opens=0, new_customer=int(new_customer), joined_at=now, progress_at=now,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "campaign_id", "profile_id"])
        .returning(campaign_participants.c.id)).first()
    found = participant_of(conn, workspace_id, campaign_id, profile_id)
    assert found is not None
    return found, inserted is not None


def participant_of(conn: Connection, workspace_id: int, campaign_id: int, profile_id: int) -> Participant | None:
    row = conn.execute(select(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.campaign_id == campaign_id,
        campaign_participants.c.profile_id == profile_id)).first()
    return None if row is None else _participant(row)


def get_participant(conn: Connection, workspace_id: int, participant_id: int) -> Participant | None:
    row = conn.execute(select(campaign_participants).where(campaign_participants.c.workspace_id == workspace_id,
                                                           campaign_participants.c.id == participant_id)).first()
    return None if row is None else _participant(row)


def participant_by_token(conn: Connection, workspace_id: int, campaign_id: int, token: str) -> Participant | None:
    row = conn.execute(select(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.campaign_id == campaign_id,
        campaign_participants.c.token == token)).first()
    return None if row is None else _participant(row)


def count_link_open(conn: Connection, workspace_id: int, participant_id: int, count: int = 1) -> None:
    conn.execute(update(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.id == participant_id,
    ).values(link_opens=campaign_participants.c.link_opens + count))


def move_progress(conn: Connection, workspace_id: int, participant_id: int, delta: int, now: datetime) -> int:
    """Add ``delta`` to the participant's progress in one UPDATE (never below zero) and return the new
    value; concurrent credits each see their own result, so each threshold is crossed by exactly one."""
    return int(conn.execute(update(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.id == participant_id,
        campaign_participants.c.progress + delta >= 0,
    ).values(progress=campaign_participants.c.progress + delta, progress_at=now)
        .returning(campaign_participants.c.progress)).scalar_one_or_none() or 0)


def ranking(conn: Connection, workspace_id: int, campaign_id: int, *, min_progress: int = 1,
            limit: int = 100) -> list[Participant]:
    """Most progress first; a tie goes to whoever reached it first."""
    return [_participant(r) for r in conn.execute(select(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.campaign_id == campaign_id,
        campaign_participants.c.progress >= min_progress,
    ).order_by(desc(campaign_participants.c.progress), campaign_participants.c.progress_at,
               campaign_participants.c.id).limit(limit))]


def profile_facts(conn: Connection, workspace_id: int, profile_id: int) -> tuple[datetime, int] | None:
    """(created_at, order_count) of a live profile: what "new customer" is decided from."""
    row = conn.execute(select(profiles.c.created_at, profiles.c.order_count).where(
        profiles.c.workspace_id == workspace_id, profiles.c.id == profile_id)).first()
    return None if row is None else (row.created_at, int(row.order_count))


# --- credits -------------------------------------------------------------------------------------

def insert_credit(conn: Connection, workspace_id: int, *, now: datetime, **values: Any) -> tuple[Credit, bool]:
    """The credit for ``unique_key``, written unless it exists (one help per helper, one inviter per
    invitee: the unique index decides, whatever the concurrency); whether it was written now."""
    inserted = conn.execute(upsert(conn, campaign_credits).values(
        workspace_id=workspace_id, created_at=now, updated_at=now, **values,
    ).on_conflict_do_nothing(index_elements=["workspace_id", "campaign_id", "unique_key"])
        .returning(campaign_credits.c.id)).first()
    row = conn.execute(select(campaign_credits).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.campaign_id == values["campaign_id"],
        campaign_credits.c.unique_key == values["unique_key"])).one()
    return _credit(row), inserted is not None


def get_credit(conn: Connection, workspace_id: int, credit_id: int) -> Credit | None:
    row = conn.execute(select(campaign_credits).where(campaign_credits.c.workspace_id == workspace_id,
                                                      campaign_credits.c.id == credit_id)).first()
    return None if row is None else _credit(row)


def move_credit(conn: Connection, workspace_id: int, credit_id: int, *, from_status: tuple[CreditStatus, ...],
                to: CreditStatus, now: datetime, **values: Any) -> bool:
    """Compare-and-set on the credit's status: of two workers moving the same credit only one wins."""
    return conn.execute(update(campaign_credits).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.id == credit_id,
        campaign_credits.c.status.in_([s.value for s in from_status]),
    ).values(status=to.value, updated_at=now, **values)).rowcount == 1


def note_assessment(conn: Connection, workspace_id: int, credit_id: int, *, risk_score: int | None,
                    reasons: list[Any], decision_id: int | None, new_customer: bool, now: datetime) -> None:
    """The anti-fraud decision on the credit: its score, reasons, stored decision and whether the
    person was new to the brand (the identity graph's answer, which measurement counts)."""
    conn.execute(update(campaign_credits).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.id == credit_id,
    ).values(risk_score=risk_score, reasons=reasons, decision_id=decision_id, new_customer=int(new_customer),
             updated_at=now))


def mark_qualified(conn: Connection, workspace_id: int, credit_id: int, now: datetime) -> None:
    conn.execute(update(campaign_credits).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.id == credit_id,
        campaign_credits.c.qualified_at.is_(None)).values(qualified_at=now, updated_at=now))


def credits_of_profile(conn: Connection, workspace_id: int, profile_id: int,
                       statuses: tuple[CreditStatus, ...]) -> list[Credit]:
    """The credits a person earned others (as invitee or helper), in the given states."""
    return [_credit(r) for r in conn.execute(select(campaign_credits).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.profile_id == profile_id,
        campaign_credits.c.status.in_([s.value for s in statuses])).order_by(campaign_credits.c.id))]


def credits_of_campaign(conn: Connection, workspace_id: int, campaign_id: int, *,
                        statuses: tuple[CreditStatus, ...] | None = None, participant_id: int | None = None,
                        created_before: datetime | None = None, limit: int = 500) -> list[Credit]:
    query = select(campaign_credits).where(campaign_credits.c.workspace_id == workspace_id,
                                           campaign_credits.c.campaign_id == campaign_id)
    if statuses is not None:
        query = query.where(campaign_credits.c.status.in_([s.value for s in statuses]))
    if participant_id is not None:
        query = query.where(campaign_credits.c.participant_id == participant_id)
    if created_before is not None:
        query = query.where(campaign_credits.c.created_at <= created_before)
    return [_credit(r) for r in conn.execute(query.order_by(campaign_credits.c.id).limit(limit))]


# --- the events the worker follows ---------------------------------------------------------------

def events_after(conn: Connection, workspace_id: int, position: int, names: tuple[str, ...],
                 limit: int) -> tuple[list[tuple[int, int, str, datetime]], int, int]:
    """(event id, profile id, name, time) of the named events after ``position``, the position to
    continue from (the last id looked at, matching or not, so a quiet log still moves the cursor) and
    how many events were looked at."""
    # ``workspace_id + 0``: walk ids from the cursor (siyu.segments.realtime_store.log_entries_after says
    # why); on the (workspace_id, …) indexes SQLite read the whole workspace's log each batch
    ids = conn.execute(select(events.c.id).where((events.c.workspace_id + 0) == workspace_id, events.c.id > position)
                       .order_by(events.c.id).limit(limit)).scalars().all()
    if not ids:
        return [], position, 0
    rows = conn.execute(select(events.c.id, events.c.profile_id, events.c.name, events.c.timestamp).where(
        (events.c.workspace_id + 0) == workspace_id, events.c.id > position, events.c.id <= ids[-1],
        events.c.name.in_(names), events.c.profile_id.is_not(None)).order_by(events.c.id))
    return [(int(r.id), int(r.profile_id), r.name, r.timestamp) for r in rows], int(ids[-1]), len(ids)


def pending_older_than(conn: Connection, workspace_id: int, campaign_id: int, created_before: datetime,
                       limit: int = 500) -> list[Credit]:
    """Pending credits written before ``created_before`` (a stay served out, a window passed)."""
    return [_credit(r) for r in conn.execute(select(campaign_credits).where(
        campaign_credits.c.workspace_id == workspace_id, campaign_credits.c.campaign_id == campaign_id,
        campaign_credits.c.status == CreditStatus.PENDING.value, campaign_credits.c.created_at <= created_before,
    ).order_by(campaign_credits.c.id).limit(limit))]


# --- the mechanics' own state (group, bargain, split pool, check-in history) ---------------------

def lock_participant(conn: Connection, workspace_id: int, participant_id: int) -> Participant | None:
    """The participant, locked for this transaction so its ``state`` is read, decided on and written
    by one caller at a time: ``FOR UPDATE`` on PostgreSQL (a second caller waits, then reads the
    committed state); on SQLite the caller's BEGIN IMMEDIATE already excludes other writers."""
    query = select(campaign_participants).where(campaign_participants.c.workspace_id == workspace_id,
                                                campaign_participants.c.id == participant_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else _participant(row)


def save_state(conn: Connection, workspace_id: int, participant_id: int, *, state: dict[str, Any],
               phase: str | None, deadline: datetime | None, now: datetime) -> None:
    """Write the state decided under :func:`lock_participant` (the caller holds the lock)."""
    conn.execute(update(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.id == participant_id,
    ).values(state=state, phase=phase, deadline=deadline, progress_at=now))


def due_participants(conn: Connection, workspace_id: int, now: datetime, limit: int = 500) -> list[Participant]:
    """Open mechanics whose deadline has come (a group to fail or auto-fill, a bargain to close)."""
    return [_participant(r) for r in conn.execute(select(campaign_participants).where(
        campaign_participants.c.workspace_id == workspace_id, campaign_participants.c.phase == "open",
        campaign_participants.c.deadline <= now).order_by(campaign_participants.c.deadline).limit(limit))]
