"""SQL that computes the built-in scores for a whole workspace, set-based, into ``profile_scores``.

Only the score columns this module owns are written (RFM, lifecycle, KOC); the customer-value
columns belong to the CLV job. Every statement runs in the caller's write transaction, so readers
see either the old scores or the new ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    and_,
    case,
    delete,
    func,
    literal,
    select,
    true,
    type_coerce,
    update,
)

from siyu.db.dialect import upsert
from siyu.db.tables import events, identities, profile_scores, profiles
from siyu.db.types import to_millis
from siyu.segments.compile import live
from siyu.segments.json_sql import json_text
from siyu.segments.scores import (
    INVITE_ACCEPTED,
    INVITE_SENT,
    SHARE_EVENTS,
    KocWeights,
    LifecycleThresholds,
    koc_score,
    rfm_segment,
    thresholds_from_gaps,
)

ORDER = "Order Completed"
_TALLIES = ("shares", "invites_sent", "invites_accepted", "invitees_converted")  # koc_score's arguments
DAY_MS = 86_400_000


def _upsert_scores(conn: Connection, workspace_id: int, query: Any, columns: list[str]) -> None:
    statement = upsert(conn, profile_scores).from_select(["workspace_id", "profile_id", *columns, "updated_at"], query)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["workspace_id", "profile_id"],
        set_={name: getattr(statement.excluded, name) for name in [*columns, "updated_at"]}))


def forget_departed(conn: Connection, workspace_id: int) -> None:
    """Scores of profiles merged away or erased since the last run."""
    people = select(profiles.c.id).where(*live(workspace_id))
    conn.execute(delete(profile_scores).where(profile_scores.c.workspace_id == workspace_id,
                                              profile_scores.c.profile_id.not_in(people)))


def rfm_ranking(workspace_id: int) -> Any:
    """Every buyer of the workspace with quintile R, F and M scores and the named RFM segment:
    columns ``profile_id, r, f, m, segment``. One SELECT over the profiles' rollups, so it runs the
    same on SQLite, PostgreSQL and the analytics engine (the grid report and the benchmarks read it
    there without touching the operational store). Scores are 1 + floor(5 (rank − 1) / n) with ranks
    ascending (rank 1 = the worst), so ties share a score."""
    buyers = select(profiles.c.id, profiles.c.last_order_at, profiles.c.order_count, profiles.c.total_spend).where(
        *live(workspace_id), profiles.c.order_count > 0, profiles.c.last_order_at.is_not(None)).subquery()
    population = func.count().over()

    def score(column: Any) -> Any:
        return 1 + (5 * (func.rank().over(order_by=column) - 1)) // population

    ranked = select(buyers.c.id, score(buyers.c.last_order_at).label("r"), score(buyers.c.order_count).label("f"),
                    score(buyers.c.total_spend).label("m")).subquery()
    by_segment: dict[str, list[int]] = {}
    for r in range(1, 6):
        for f in range(1, 6):
            by_segment.setdefault(rfm_segment(r, f), []).append(r * 10 + f)
    segment = case(*[((ranked.c.r * 10 + ranked.c.f).in_(codes), name) for name, codes in by_segment.items()])
    return select(ranked.c.id.label("profile_id"), ranked.c.r, ranked.c.f, ranked.c.m, segment.label("segment"))


def compute_rfm(conn: Connection, workspace_id: int, now: datetime) -> int:
    """:func:`rfm_ranking` written into ``profile_scores``; returns the number of buyers scored."""
    ranking = rfm_ranking(workspace_id).subquery()
    conn.execute(update(profile_scores).where(profile_scores.c.workspace_id == workspace_id).values(
        rfm_recency=None, rfm_frequency=None, rfm_monetary=None, rfm_segment=None))
    query = select(literal(workspace_id), ranking.c.profile_id, ranking.c.r, ranking.c.f, ranking.c.m,
                   ranking.c.segment, literal(to_millis(now))).where(true())  # SQLite needs WHERE before ON CONFLICT
    _upsert_scores(conn, workspace_id, query, ["rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_segment"])
    return conn.execute(select(func.count()).select_from(ranking)).scalar_one()


def _gap_days(workspace_id: int) -> Any:
    millis = type_coerce(events.c.timestamp, BigInteger)  # raw epoch ms, not datetimes
    previous = func.lag(millis).over(partition_by=events.c.profile_id, order_by=millis)
    gaps = select(type_coerce((millis - previous) / float(DAY_MS), Float).label("gap")).where(
        events.c.workspace_id == workspace_id, events.c.name == ORDER, events.c.profile_id.is_not(None)).subquery()
    return select(gaps.c.gap).where(gaps.c.gap >= 1.0).subquery()  # same-day orders are one visit


def lifecycle_thresholds(conn: Connection, workspace_id: int, settings: dict[str, Any]) -> LifecycleThresholds:
    gaps = _gap_days(workspace_id)
    count = conn.execute(select(func.count()).select_from(gaps)).scalar_one()

    def _percentile(share: float) -> float | None:
        if not count:
            return None
        offset = int(share * (count - 1))
        return conn.execute(select(gaps.c.gap).order_by(gaps.c.gap).offset(offset).limit(1)).scalar_one()

    return thresholds_from_gaps(_percentile(0.75), _percentile(0.95), count, settings)


def compute_lifecycle(conn: Connection, workspace_id: int, now: datetime, thresholds: LifecycleThresholds) -> None:
    active_since = now - timedelta(days=thresholds.active_days)
    churned_before = now - timedelta(days=thresholds.churned_days)
    recent_repeat = select(profiles.c.id, profiles.c.last_order_at).where(
        *live(workspace_id), profiles.c.order_count >= 2, profiles.c.last_order_at >= active_since).subquery()
    previous = (select(events.c.profile_id, func.max(events.c.timestamp).label("previous_at"))
                .join(recent_repeat, recent_repeat.c.id == events.c.profile_id)
                .where(events.c.workspace_id == workspace_id, events.c.name == ORDER,
                       events.c.timestamp < recent_repeat.c.last_order_at)
                .group_by(events.c.profile_id).subquery())
    gap_ms = thresholds.churned_days * DAY_MS
    stage = case(
        (profiles.c.last_order_at < churned_before, "churned"),
        (profiles.c.last_order_at < active_since, "dormant"),
        (profiles.c.order_count == 1, "new"),
        (and_(previous.c.previous_at.is_not(None), profiles.c.last_order_at - previous.c.previous_at > gap_ms),
         "won_back"),
        else_="active")
    conn.execute(update(profile_scores).where(profile_scores.c.workspace_id == workspace_id)
                 .values(lifecycle_stage=None))
    query = (select(literal(workspace_id), profiles.c.id, stage, literal(to_millis(now)))
             .select_from(profiles.outerjoin(previous, previous.c.profile_id == profiles.c.id))
             .where(*live(workspace_id), profiles.c.order_count > 0, profiles.c.last_order_at.is_not(None)))
    _upsert_scores(conn, workspace_id, query, ["lifecycle_stage"])


def compute_koc(conn: Connection, workspace_id: int, now: datetime, weights: KocWeights) -> int:
    tallies: dict[int, dict[str, int]] = {}
    rows = conn.execute(select(events.c.profile_id, func.sum(case((events.c.name.in_(SHARE_EVENTS), 1), else_=0)),
                               func.sum(case((events.c.name == INVITE_SENT, 1), else_=0)))
                        .where(events.c.workspace_id == workspace_id, events.c.profile_id.is_not(None),
                               events.c.name.in_([*SHARE_EVENTS, INVITE_SENT]))
                        .group_by(events.c.profile_id))
    for profile_id, shares, invites in rows:
        tallies[profile_id] = {**dict.fromkeys(_TALLIES, 0), "shares": int(shares), "invites_sent": int(invites)}
    inviter = identities.alias("inviter")
    invitee = profiles.alias("invitee")
    accepted = conn.execute(
        select(inviter.c.profile_id, func.count(func.distinct(events.c.profile_id)),
               func.count(func.distinct(case((invitee.c.order_count > 0, events.c.profile_id)))))
        .select_from(events.join(inviter, and_(inviter.c.workspace_id == workspace_id,
                                               inviter.c.type.in_(["user_id", "anonymous_id"]),
                                               inviter.c.value == json_text(events.c.properties, "inviter")))
                     .join(invitee, invitee.c.id == events.c.profile_id))
        .where(events.c.workspace_id == workspace_id, events.c.name == INVITE_ACCEPTED,
               invitee.c.workspace_id == workspace_id, events.c.profile_id != inviter.c.profile_id)
        .group_by(inviter.c.profile_id))
    for profile_id, count, converted in accepted:
        tally = tallies.setdefault(profile_id, dict.fromkeys(_TALLIES, 0))
        tally["invites_accepted"], tally["invitees_converted"] = int(count), int(converted)
    conn.execute(update(profile_scores).where(profile_scores.c.workspace_id == workspace_id).values(koc_score=None))
    people = set(conn.execute(select(profiles.c.id).where(*live(workspace_id), profiles.c.id.in_(list(tallies))))
                 .scalars()) if tallies else set()
    rows_out = [{"workspace_id": workspace_id, "profile_id": pid, "koc_score": koc_score(weights, **tally),
                 "updated_at": now} for pid, tally in tallies.items() if pid in people]
    for start in range(0, len(rows_out), 2_000):
        chunk = rows_out[start:start + 2_000]
        statement = upsert(conn, profile_scores).values(chunk)
        conn.execute(statement.on_conflict_do_update(
            index_elements=["workspace_id", "profile_id"],
            set_={"koc_score": statement.excluded.koc_score, "updated_at": statement.excluded.updated_at}))
    return len(rows_out)


def rfm_grid(conn: Connection, workspace_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(profile_scores.c.rfm_recency, profile_scores.c.rfm_frequency, func.count(),
                               func.avg(profiles.c.total_spend))
                        .join(profiles, profiles.c.id == profile_scores.c.profile_id)
                        .where(profile_scores.c.workspace_id == workspace_id, profiles.c.workspace_id == workspace_id,
                               profile_scores.c.rfm_recency.is_not(None))
                        .group_by(profile_scores.c.rfm_recency, profile_scores.c.rfm_frequency))
    return [{"r": r, "f": f, "customers": n, "average_spend": float(avg or 0)} for r, f, n, avg in rows]


def stage_counts(conn: Connection, workspace_id: int, column: str) -> dict[str, int]:
    target = profile_scores.c[column]
    rows = conn.execute(select(target, func.count()).where(profile_scores.c.workspace_id == workspace_id,
                                                           target.is_not(None)).group_by(target))
    return {name: count for name, count in rows}


def top_kocs(conn: Connection, workspace_id: int, limit: int = 20) -> list[dict[str, Any]]:
    rows = conn.execute(select(profile_scores.c.profile_id, profile_scores.c.koc_score)
                        .where(profile_scores.c.workspace_id == workspace_id, profile_scores.c.koc_score > 0)
                        .order_by(profile_scores.c.koc_score.desc(), profile_scores.c.profile_id).limit(limit))
    return [{"profile_id": pid, "koc_score": score} for pid, score in rows]
