"""The demo brand's survey (both databases): a post-purchase NPS survey sent by a live journey to every
buyer (their own link signed when the message is rendered), with a few hundred answers from repeat
buyers spread over ten weeks, each through the survey's answer path (its ``Survey Answered`` event in
the timeline) — so NPS over time has weeks to show, and rises."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from siyu.db.engine import read, write
from siyu.db.tables import events
from siyu.demo.generate import generate
from siyu.demo.surveys import NAME, RESPONDENTS, WEEKS, surveys
from siyu.journeys import store as journey_store
from siyu.messaging.models import Channel, Purpose
from siyu.messaging.render import render_for, signing_of
from siyu.runtime import Runtime
from siyu.segments import membership
from siyu.surveys import store
from siyu.surveys.api import report
from siyu.surveys.page import read_token
from siyu.workspaces import store as workspace_store
from tests.conftest import make_workspace

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_the_demo_survey_has_weeks_of_answers_and_a_live_journey(runtime: Runtime) -> None:
    workspace = make_workspace(runtime, "demo")
    generate(runtime, workspace.id, customers=1500, seed=5, now=NOW)
    with write(runtime.engine) as conn:  # the demo's repeat-buyers segment (siyu.demo.understand makes it)
        buyers = membership.save(conn, workspace.id, name="复购客户", description=None,
                                 definition={"rollup": "order_count", "op": "gte", "value": 2}, actor="demo",
                                 now=NOW, timezone="Asia/Shanghai")["size"]
    made = surveys(runtime, workspace.id, seed=5, now=NOW)
    assert made["answers"] == min(RESPONDENTS, buyers) > 100
    assert surveys(runtime, workspace.id, seed=5, now=NOW) == {}  # a second run changes nothing
    with read(runtime.engine) as conn:
        [survey] = [s for s in store.list_surveys(conn, workspace.id) if s.name == NAME]
        weekly = report(conn, workspace.id, survey.id, "week", None)
        answered = conn.execute(select(func.count()).select_from(events).where(
            events.c.workspace_id == workspace.id, events.c.name == "Survey Answered")).scalar_one()
        journey = journey_store.get_journey(conn, workspace.id, made["journey"])
    assert weekly["overall"]["answers"] == made["answers"] == answered
    assert WEEKS <= len(weekly["periods"]) <= WEEKS + 2
    first, last = weekly["periods"][:3], weekly["periods"][-3:]
    assert sum(p["nps"] for p in last) > sum(p["nps"] for p in first)  # the story: service got better
    assert all(p["period"] <= NOW.date().isoformat() for p in weekly["periods"])
    assert journey.status.value == "live"
    # Every buyer is asked, not only those with a link issued beforehand: no condition on a trait,
    # and the link in the message is the person's own, signed as it is rendered.
    assert [list(step)[1] for step in journey.draft["steps"]] == ["wait", "send"]
    [ask] = [step["send"] for step in journey.draft["steps"] if "send" in step]
    with read(runtime.engine) as conn:
        buyer = conn.execute(select(events.c.profile_id).where(
            events.c.workspace_id == workspace.id, events.c.name == "Order Completed",
            events.c.profile_id.is_not(None)).limit(1)).scalar_one()
        ws = workspace_store.get_workspace(conn, workspace.id)
        rendered = render_for(conn, ws, buyer, Channel.EMAIL, Purpose.MARKETING, ask["template"],
                              signing=signing_of(runtime))
    token = rendered.payload["text"].rsplit("/survey/", 1)[1]
    assert read_token(runtime.session_secret(), token) == (workspace.id, survey.id, buyer, "default")
