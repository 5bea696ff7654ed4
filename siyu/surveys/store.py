"""Surveys and answers in the database (SQLAlchemy Core; every query filters workspace_id).

One answer per person per survey send (``send_key``, the sending the link came from): the unique
key ``(workspace, survey, profile, send_key)`` makes a double submit one answer. A re-answer within
:data:`~siyu.surveys.models.REANSWER_WINDOW` of the first replaces it; later, it is refused.
Concurrency: the first answer is ``INSERT … ON CONFLICT DO NOTHING``; a re-answer locks the row
(``FOR UPDATE`` on PostgreSQL; SQLite's write transaction has the database to itself), so two
submits at once end as one answer and two events in the order they committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from siyu.db.dialect import upsert
from siyu.db.tables import segment_members, survey_answers, surveys
from siyu.profiles.read_store import append_profile_events, resolve_profile_id
from siyu.surveys import nps
from siyu.surveys.errors import AnswerClosed, SurveyNotFound
from siyu.surveys.models import ANSWERED, REANSWER_WINDOW, Survey

EVENT_SOURCE = "surveys"


def _survey(row: Any) -> Survey:
    return Survey(row.id, row.workspace_id, row.name, row.texts, row.status, row.created_at)


def create_survey(conn: Connection, workspace_id: int, name: str, texts: dict[str, Any], now: datetime) -> Survey:
    new_id = conn.execute(surveys.insert().values(workspace_id=workspace_id, name=name, texts=texts, status="active",
                                                  created_at=now).returning(surveys.c.id)).scalar_one()
    return get_survey(conn, workspace_id, new_id)


def get_survey(conn: Connection, workspace_id: int, survey_id: int) -> Survey:
    row = conn.execute(select(surveys).where(surveys.c.workspace_id == workspace_id,
                                             surveys.c.id == survey_id)).first()
    if row is None:
        raise SurveyNotFound(f"No survey {survey_id} in this workspace.", details={"survey_id": survey_id})
    return _survey(row)


def list_surveys(conn: Connection, workspace_id: int) -> list[Survey]:
    rows = conn.execute(select(surveys).where(surveys.c.workspace_id == workspace_id).order_by(surveys.c.id.desc()))
    return [_survey(r) for r in rows]


def newest_answered_survey(conn: Connection, workspace_id: int) -> Survey | None:
    """The newest survey that has answers: the workspace's current NPS (the reports overview's card)."""
    answered = select(survey_answers.c.id).where(survey_answers.c.workspace_id == workspace_id,
                                                 survey_answers.c.survey_id == surveys.c.id)
    row = conn.execute(select(surveys).where(surveys.c.workspace_id == workspace_id, answered.exists())
                       .order_by(surveys.c.id.desc()).limit(1)).first()
    return None if row is None else _survey(row)


def set_status(conn: Connection, workspace_id: int, survey_id: int, status: str) -> Survey:
    get_survey(conn, workspace_id, survey_id)
    conn.execute(update(surveys).where(surveys.c.workspace_id == workspace_id, surveys.c.id == survey_id)
                 .values(status=status))
    return get_survey(conn, workspace_id, survey_id)


def answer(conn: Connection, workspace_id: int, survey: Survey, profile_id: int, send_key: str, score: int,
           comment: str | None, now: datetime) -> dict[str, Any]:
    """Store the answer (or replace it within the window) and append ``Survey Answered``; returns
    the answer with ``replaced``. Raises AnswerClosed for a closed survey or a late re-answer, and
    ProfileNotFound for a person who is gone."""
    if survey.status != "active":
        raise AnswerClosed("This survey is closed.", details={"survey_id": survey.id})
    person = resolve_profile_id(conn, workspace_id, profile_id)
    kind = nps.category(score)
    values = {"score": score, "category": kind, "comment": comment or None, "updated_at": now}
    inserted = conn.execute(upsert(conn, survey_answers).values(
        workspace_id=workspace_id, survey_id=survey.id, profile_id=person, send_key=send_key, answered_at=now,
        **values).on_conflict_do_nothing().returning(survey_answers.c.id)).scalar()
    replaced = inserted is None
    if replaced:
        key = (survey_answers.c.workspace_id == workspace_id, survey_answers.c.survey_id == survey.id,
               survey_answers.c.profile_id == person, survey_answers.c.send_key == send_key)
        query = select(survey_answers.c.answered_at).where(*key)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        first = conn.execute(query).scalar_one()
        if now - first > REANSWER_WINDOW:
            raise AnswerClosed("This survey was answered more than 7 days ago; the answer can no longer change.",
                               details={"survey_id": survey.id})
        conn.execute(update(survey_answers).where(*key).values(**values))
    append_profile_events(conn, workspace_id, [(person, ANSWERED, {
        "survey_id": survey.id, "score": score, "category": kind, "comment": comment or None,
        "send_key": send_key, "replaced": replaced})], EVENT_SOURCE, now)
    return {"survey_id": survey.id, "profile_id": person, "send_key": send_key, "score": score, "category": kind,
            "comment": comment or None, "replaced": replaced}


def answers(conn: Connection, workspace_id: int, survey_id: int, *, segment_id: int | None = None,
            since: datetime | None = None) -> list[tuple[datetime, int]]:
    """(answered_at, score) of the survey's answers, for people now in the segment when given."""
    query = select(survey_answers.c.answered_at, survey_answers.c.score).where(
        survey_answers.c.workspace_id == workspace_id, survey_answers.c.survey_id == survey_id)
    if since is not None:
        query = query.where(survey_answers.c.answered_at >= since)
    if segment_id is not None:
        query = query.where(survey_answers.c.profile_id.in_(select(segment_members.c.profile_id).where(
            segment_members.c.workspace_id == workspace_id, segment_members.c.segment_id == segment_id)))
    return [(r.answered_at, r.score) for r in conn.execute(query.order_by(survey_answers.c.answered_at))]


def recent_answers(conn: Connection, workspace_id: int, survey_id: int, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(select(survey_answers).where(survey_answers.c.workspace_id == workspace_id,
                                                     survey_answers.c.survey_id == survey_id)
                        .order_by(survey_answers.c.updated_at.desc(), survey_answers.c.id.desc()).limit(limit))
    return [{k: v for k, v in r._mapping.items() if k != "workspace_id"} for r in rows]


def answers_by_segment(conn: Connection, workspace_id: int, survey_id: int) -> list[tuple[int, int]]:
    """(segment id, score) for every answer of a person now in a segment: one row per segment the
    person is in, so a person counts in each of their segments (the NPS-by-segment report; the caller
    keeps the active segments)."""
    rows = conn.execute(select(segment_members.c.segment_id, survey_answers.c.score)
                        .join(segment_members, (segment_members.c.profile_id == survey_answers.c.profile_id)
                              & (segment_members.c.workspace_id == workspace_id))
                        .where(survey_answers.c.workspace_id == workspace_id, survey_answers.c.survey_id == survey_id))
    return [(int(r.segment_id), int(r.score)) for r in rows]


def overall_by_survey(conn: Connection, workspace_id: int) -> dict[int, list[tuple[datetime, int]]]:
    """Every survey's (answered_at, score) answers, oldest first: the surveys list's NPS and chart."""
    found: dict[int, list[tuple[datetime, int]]] = {}
    for row in conn.execute(select(survey_answers.c.survey_id, survey_answers.c.answered_at, survey_answers.c.score)
                            .where(survey_answers.c.workspace_id == workspace_id)
                            .order_by(survey_answers.c.answered_at)):
        found.setdefault(int(row.survey_id), []).append((row.answered_at, int(row.score)))
    return found
