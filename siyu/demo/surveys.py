"""A post-purchase NPS survey in the demo brand (issue 7, parts 6-7): the survey, the journey that sends
it three days after an order (its send step writes each person's own signed link), and ten weeks of
answers from a few hundred repeat buyers — so the console's surveys pages show NPS over time and by
segment from the first start.

The journey asks every buyer: its message carries ``{{ survey_link(<id>) }}``, which signs the
person's own link when the message is rendered (:mod:`siyu.messaging.templates`), so nobody needs a
link issued beforehand. The answers are given through the surveys capability's own function
(:func:`siyu.surveys.store.answer`, which the public survey page calls), each dated in the past and
leaving its ``Survey Answered`` event in the person's timeline. The journey is published now: from
here on the worker sends the survey after new orders, while the history below is written directly
(as the loyalty demo writes its year of points), under a send key of its own (``HISTORY``), so a
respondent asked again by the live journey answers that new send. Scores drift upwards over the
weeks — the brand fixed its slow shipping, and the comments say so.

Idempotent: a workspace that has the survey already is left as it is.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from siyu import clock
from siyu.db.engine import read, write
from siyu.runtime import Runtime

NAME = "购后 NPS · Post-purchase NPS"
RESPONDENTS = 360
WEEKS = 10
BUYERS_SEGMENT = "复购客户"  # made by siyu.demo.understand, which runs first
HISTORY = "demo-history"  # the send key of the answers written as history
COMMENTS = {
    "detractor": ["物流太慢了，等了一周。", "Shipping took a week.", "包装破损，客服回复慢。"],
    "passive": ["产品不错，价格有点贵。", "Good, but pricey.", "还行，希望赠品多一点。"],
    "promoter": ["发货快，小完子很贴心！", "Fast delivery and great advice.", "已经推荐给闺蜜了。"],
}


def journey_definition(survey_id: int) -> dict[str, Any]:
    """Three days after an order, at 10:00, each buyer's own link (signed when the message is rendered)."""
    link = f"{{{{ survey_link({survey_id}) }}}}"
    template = {"subject": {"zh": "花 1 分钟评价这次购物", "en": "One minute on your order?"},
                "text": {"zh": f"您会把悦妆推荐给朋友吗？点这里打分：{link}",
                         "en": f"Would you recommend Yuezhuang to a friend? Rate us: {link}"}}
    return {"trigger": {"event": "Order Completed"}, "entry": {"rule": "once_per", "period": "90d"},
            "steps": [{"id": "wait", "wait": {"duration": "3d", "at": "10:00"}, "label": "三天后上午"},
                      {"id": "ask", "send": {"channel": "email", "purpose": "marketing", "template": template}}]}


def score_in_week(rnd: random.Random, week: int) -> int:
    """A score whose chance of being a promoter's grows and a detractor's shrinks week by week (NPS
    from about −5 in the first week to about +45 in the tenth)."""
    promoter, detractor = 0.30 + 0.03 * week, 0.35 - 0.02 * week
    draw = rnd.random()
    if draw < promoter:
        return rnd.choice((9, 10, 10))
    if draw < promoter + detractor:
        return rnd.choice((2, 4, 5, 6, 6))
    return rnd.choice((7, 8))


def surveys(runtime: Runtime, workspace_id: int, *, seed: int, now: datetime | None = None) -> dict[str, Any]:
    """Make the survey, its journey and its answers; what was made, in figures."""
    from siyu.journeys import lifecycle
    from siyu.segments import store as segment_store
    from siyu.surveys import nps, store
    from siyu.surveys.models import checked_texts

    now = now or clock.now()
    rnd = random.Random(seed * 17 + 3)
    start = now - timedelta(weeks=WEEKS)
    with read(runtime.engine) as conn:
        if any(s.name == NAME for s in store.list_surveys(conn, workspace_id)):
            return {}
        buyers_segment = next((s["id"] for s in segment_store.list_segments(conn, workspace_id)
                               if s["name"] == BUYERS_SEGMENT), None)
        buyers = [] if buyers_segment is None else segment_store.member_ids(conn, workspace_id, buyers_segment,
                                                                             limit=20_000)
    respondents = rnd.sample(buyers, min(RESPONDENTS, len(buyers)))
    with write(runtime.engine) as conn:
        survey = store.create_survey(conn, workspace_id, NAME, checked_texts(None), start - timedelta(days=3))
        journey = lifecycle.create(conn, workspace_id, name="购后 NPS 回访 · Post-purchase NPS",
                                   description="Asks for a score three days after each order.",
                                   definition=journey_definition(survey.id), actor="demo", now=start)
        lifecycle.publish(conn, workspace_id, journey.id, actor="demo", now=now)
        answers = sorted((start + timedelta(weeks=i % WEEKS, hours=rnd.randint(30, 160)), person, i % WEEKS)
                         for i, person in enumerate(respondents))
        scores = []
        for answered_at, person, week in answers:
            score = score_in_week(rnd, week)
            comment = rnd.choice(COMMENTS[nps.category(score)]) if rnd.random() < 0.3 else None
            store.answer(conn, workspace_id, survey, person, HISTORY, score, comment, min(answered_at, now))
            scores.append(score)
    return {"survey": survey.id, "journey": journey.id, "answers": len(scores),
            "nps": nps.summary(scores)["nps"]}
