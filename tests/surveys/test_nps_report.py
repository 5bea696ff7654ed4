"""NPS over time and by segment (both databases): answers given on the public page from signed links over
several weeks; the API reports them by week or month (``interval``) and per segment, and the console's
surveys list shows each survey's NPS, a chart of NPS over time and one of NPS by segment."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from siyu import clock
from siyu.runtime import Runtime
from siyu.surveys import nps
from tests.journeys.scenario import NOON, person
from tests.web.test_pages import console_user, sign_in

# Week of 9 November: VIPs 10 and 9, others 3 and 8; week of 23 November: a VIP 6, another 10.
ANSWERS = [(0, "vip-1", 10), (0, "vip-2", 9), (0, "guest-1", 3), (0, "guest-2", 8), (14, "vip-3", 6),
           (14, "guest-3", 10)]


def _answered_survey(client: Any, workspace: Any) -> tuple[dict[str, Any], dict[str, int]]:
    clock.freeze(NOON)
    survey = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "购后 NPS"}).json()
    people = {name: person(client, workspace, name, vip=name.startswith("vip")) for _, name, _ in ANSWERS}
    vips = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "VIP", "definition": {"trait": "vip", "op": "eq", "value": True}}).json()
    client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "普通客户", "definition": {"trait": "vip", "op": "eq", "value": False}})
    issued = client.post(f"/api/surveys/{survey['id']}/links", headers=workspace.bearer(),
                         json={"profile_ids": list(people.values()), "send_key": "2026-11"})
    assert issued.status_code == 200, issued.text
    urls = {link["profile_id"]: link["url"] for link in issued.json()["links"]}
    for days, name, score in ANSWERS:
        clock.freeze(NOON + timedelta(days=days))
        token = urls[people[name]].rsplit("/survey/", 1)[1]
        assert client.post(f"/survey/{token}", data={"score": str(score)}).status_code == 200
    return {**survey, "vips": vips["id"]}, people


def test_nps_over_time_by_week_or_month_and_for_a_segment(runtime: Runtime, client: Any, workspace: Any) -> None:
    survey, _ = _answered_survey(client, workspace)
    weekly = client.get(f"/api/surveys/{survey['id']}/nps", params={"interval": "week"}, headers=workspace.bearer())
    assert weekly.status_code == 200, weekly.text
    assert [(p["period"], p["answers"], p["nps"]) for p in weekly.json()["periods"]] == [
        ("2026-11-09", 4, 25.0), ("2026-11-23", 2, 0.0)]
    monthly = client.get(f"/api/surveys/{survey['id']}/nps", params={"interval": "month", "by": "week"},
                         headers=workspace.bearer()).json()
    assert monthly["by"] == "month" and [p["answers"] for p in monthly["periods"]] == [6]  # interval wins
    vips = client.get(f"/api/surveys/{survey['id']}/nps", params={"segment_id": survey["vips"]},
                      headers=workspace.bearer()).json()
    assert vips["overall"] == nps.summary([10, 9, 6])
    bad = client.get(f"/api/surveys/{survey['id']}/nps", params={"interval": "day"}, headers=workspace.bearer())
    assert bad.status_code == 400 and "error" in bad.json()


def test_nps_by_segment_beside_everyone(runtime: Runtime, client: Any, workspace: Any,
                                        other_workspace: Any) -> None:
    survey, _ = _answered_survey(client, workspace)
    answer = client.get(f"/api/surveys/{survey['id']}/nps/segments", headers=workspace.bearer())
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["overall"] == nps.summary(score for _, _, score in ANSWERS)
    assert [(s["name"], s["answers"], s["nps"]) for s in report["segments"]] == [
        ("VIP", 3, round(100 * (2 - 1) / 3, 1)), ("普通客户", 3, 0.0)]
    theirs = client.get(f"/api/surveys/{survey['id']}/nps/segments", headers=other_workspace.bearer())
    assert theirs.status_code == 404 and theirs.json()["error"]["code"].startswith("surveys.")


def test_the_surveys_list_shows_nps_over_time_and_by_segment(runtime: Runtime, client: Any,
                                                            workspace: Any) -> None:
    survey, _ = _answered_survey(client, workspace)
    client.post("/api/surveys", headers=workspace.bearer(), json={"name": "无人回答"})
    email = f"nps-{workspace.name}@brand.cn"
    console_user(runtime, workspace.id, email)
    assert sign_in(client, email).status_code in (302, 303)
    page = client.get("/surveys")
    assert page.status_code == 200, page.text
    row = re.search(rf'<tr data-id="{survey["id"]}">(.*?)</tr>', page.text, re.S)
    assert row is not None and '<td class="nps">16.7</td>' in row.group(1)  # (3 − 2) / 6 promoters minus detractors
    assert 'id="nps-chart"' in page.text and 'id="segment-chart"' in page.text and "echarts.min.js" in page.text
    data = json.loads(re.search(r'<script id="nps-charts" type="application/json">(.*?)</script>',
                                page.text, re.S).group(1))
    assert data["weeks"] == ["2026-11-09", "2026-11-23"]
    assert data["series"] == [{"name": "购后 NPS", "nps": [25.0, 0.0]}]  # the unanswered survey draws no line
    assert data["segments"] == ["VIP", "普通客户"] and data["segment_answers"] == [3, 3]
