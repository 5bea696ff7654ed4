"""Surveys end to end on both databases: create, signed links, the public page, answers stored once
per send (a re-answer within 7 days replaces, later refused), the `Survey Answered` event, the NPS
report by week and by segment, tenancy, and the CLI."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from siyu import clock
from siyu.runtime import Runtime
from siyu.surveys import page
from tests.journeys.scenario import person

START = datetime(2027, 3, 1, 4, 0, tzinfo=UTC)  # Monday 12:00 in Shanghai


def _survey(client: Any, workspace: Any, **body: Any) -> dict[str, Any]:
    created = client.post("/api/surveys", headers=workspace.bearer(), json={"name": "季度 NPS", **body})
    assert created.status_code == 201, created.text
    return created.json()


def _link(client: Any, workspace: Any, survey_id: int, profile_id: int, send_key: str = "default") -> str:
    made = client.post(f"/api/surveys/{survey_id}/links", headers=workspace.bearer(),
                       json={"profile_ids": [profile_id], "send_key": send_key})
    assert made.status_code == 200, made.text
    return "/survey/" + made.json()["links"][0]["url"].rsplit("/survey/", 1)[1]


def _events(client: Any, workspace: Any, profile_id: int) -> list[dict[str, Any]]:
    found = client.get(f"/api/profiles/{profile_id}/events", headers=workspace.bearer())
    assert found.status_code == 200, found.text
    body = found.json()
    return [e for e in body["items"] if e["name"] == "Survey Answered"]


def test_a_person_answers_once_per_send_and_the_answer_becomes_an_event(runtime: Runtime, client: Any,
                                                                        workspace: Any) -> None:
    clock.freeze(START)
    survey = _survey(client, workspace)
    lina = person(client, workspace, "lina", name="Lina")
    url = _link(client, workspace, survey["id"], lina)
    shown = client.get(url)
    assert shown.status_code == 200 and "推荐给朋友" in shown.text and 'name="comment"' in shown.text
    assert "recommend us" in client.get(url, headers={"Accept-Language": "en-US"}).text
    assert client.post(url, data={"score": "6", "comment": "太慢了"}).status_code == 200
    clock.advance(timedelta(days=2))
    again = client.post(url, data={"score": "9", "comment": "客服解决了"})
    assert again.status_code == 200 and "感谢" in again.text
    detail = client.get(f"/api/surveys/{survey['id']}", headers=workspace.bearer()).json()
    assert [(a["score"], a["category"], a["comment"]) for a in detail["answers"]] == [(9, "promoter", "客服解决了")]
    events = _events(client, workspace, lina)
    assert sorted((e["properties"]["score"], e["properties"]["category"], e["properties"]["replaced"])
                  for e in events) == [(6, "detractor", False), (9, "promoter", True)]
    assert all(e["properties"]["survey_id"] == survey["id"] for e in events)
    clock.advance(timedelta(days=6))  # 8 days after the first answer: too late to change
    assert client.post(url, data={"score": "10"}).status_code == 409
    assert client.post(_link(client, workspace, survey["id"], lina, "2027-q2"), data={"score": "10"}).status_code == 200
    assert client.post(url, data={"score": "11"}).status_code == 422


def test_links_cannot_be_forged_or_moved(runtime: Runtime, client: Any, workspace: Any, other_workspace: Any) -> None:
    survey = _survey(client, workspace)
    lina = person(client, workspace, "lina")
    url = _link(client, workspace, survey["id"], lina)
    assert client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 404
    forged = page.token_for("not-the-secret", workspace.id, survey["id"], lina)
    assert client.post(f"/survey/{forged}", data={"score": "10"}).status_code == 404
    elsewhere = page.token_for(runtime.session_secret(), other_workspace.id, survey["id"], lina)
    assert client.get(f"/survey/{elsewhere}").status_code == 404  # the survey is not the other workspace's
    assert client.get(f"/api/surveys/{survey['id']}", headers=other_workspace.bearer()).status_code == 404
    assert client.post("/api/surveys", headers=workspace.bearer(),
                       json={"name": "x", "texts": {"question": {"zh": "只有中文"}}}).status_code == 422
    closed = client.post(f"/api/surveys/{survey['id']}/status", headers=workspace.bearer(), json={"status": "closed"})
    assert closed.status_code == 200
    assert client.post(url, data={"score": "10"}).status_code == 409


def test_nps_by_week_and_by_segment(runtime: Runtime, client: Any, workspace: Any) -> None:
    clock.freeze(START)
    survey = _survey(client, workspace, ask_comment=False)
    scores = {"a": (9, "上海"), "b": (3, "上海"), "c": (10, "北京"), "d": (8, "北京")}
    ids = {user: person(client, workspace, user, city=city) for user, (_, city) in scores.items()}
    shanghai = client.post("/api/segments", headers=workspace.bearer(), json={
        "name": "上海", "definition": {"trait": "city", "op": "eq", "value": "上海"}})
    assert shanghai.status_code == 201, shanghai.text
    for i, (user, (score, _)) in enumerate(scores.items()):
        clock.freeze(START + timedelta(days=7 * (i // 2)))  # a and b in the first week, c and d in the second
        assert client.post(_link(client, workspace, survey["id"], ids[user]), data={"score": str(score)}).status_code \
            == 200
    report = client.get(f"/api/surveys/{survey['id']}/nps", headers=workspace.bearer(), params={"by": "week"}).json()
    assert report["overall"]["nps"] == 25.0
    assert [(p["period"], p["nps"]) for p in report["periods"]] == [("2027-03-01", 0.0), ("2027-03-08", 50.0)]
    by_segment = client.get(f"/api/surveys/{survey['id']}/nps", headers=workspace.bearer(),
                            params={"by": "month", "segment_id": shanghai.json()["id"]}).json()
    assert by_segment["overall"] == {"answers": 2, "promoters": 1, "passives": 0, "detractors": 1, "nps": 0.0}
    assert client.get(f"/api/surveys/{survey['id']}/nps", headers=workspace.bearer(),
                      params={"by": "year"}).status_code == 400
    assert client.get(f"/api/surveys/{survey['id']}/nps", headers=workspace.bearer(),
                      params={"segment_id": 999999}).status_code == 404


def _cli(runtime: Runtime, *args: str) -> Any:
    import siyu.surveys.cli  # noqa: F401 - registers `siyu surveys`
    from siyu.cli import app

    return CliRunner().invoke(app, list(args), env={"SIYU_DATABASE_URL": runtime.config.database_url,
                                                    "SIYU_DATA_DIR": str(runtime.config.data_dir),
                                                    "SIYU_SECRET": runtime.config.secret or ""})


def test_the_cli_creates_issues_links_and_reports(runtime: Runtime, client: Any, workspace: Any) -> None:
    created = _cli(runtime, "surveys", "create", "-w", workspace.name, "门店 NPS", "--json")
    assert created.exit_code == 0, created.output
    survey_id = json.loads(created.output)["id"]
    lina = person(client, workspace, "lina")
    made = _cli(runtime, "surveys", "links", "-w", workspace.name, str(survey_id), "--profile", str(lina), "--json")
    assert made.exit_code == 0, made.output
    url = json.loads(made.output)[0]["url"]
    traits = client.get(f"/api/profiles/{lina}", headers=workspace.bearer()).json()["traits"]
    assert traits[f"survey_{survey_id}_link"] == url  # what a journey's send step writes into the message
    token = re.sub(r"^.*/survey/", "", url)
    assert page.read_token(runtime.session_secret(), token) == (workspace.id, survey_id, lina, "default")
    assert client.post(f"/survey/{token}", data={"score": "10"}).status_code == 200
    shown = _cli(runtime, "surveys", "nps", "-w", workspace.name, str(survey_id), "--by", "month")
    assert shown.exit_code == 0 and "NPS 100.0 from 1 answers" in shown.output
    assert _cli(runtime, "surveys", "nps", "-w", workspace.name, str(survey_id), "--by", "year").exit_code == 2
    assert _cli(runtime, "surveys", "links", "-w", workspace.name, str(survey_id)).exit_code == 2


def test_links_for_ids_no_database_can_hold_are_refused(client: Any, workspace: Any) -> None:
    """Found by the schemathesis run: a profile id past 2**63 - 1 was a 500 on SQLite (the driver cannot bind it)."""
    survey = _survey(client, workspace)
    for bad in (2**63, 0, -1):
        refused = client.post(f"/api/surveys/{survey['id']}/links", headers=workspace.bearer(),
                              json={"profile_ids": [bad]})
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"] == "request.invalid"
